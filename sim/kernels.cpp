#include "sim/kernels.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>

namespace kvsim {

namespace {

// C = alpha * op(A) op(B) + beta * C, row-major. BLAS rejects K = 0, where the
// product is empty and C = beta * C.
void sgemm(CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int M, int N, int K, const float* A,
           int lda, const float* B, int ldb, float* C, int ldc, float alpha, float beta) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[std::size_t(i) * ldc + j] *= beta;
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void sgemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, float alpha, float beta) {
  sgemm(CblasNoTrans, CblasTrans, M, N, K, A, lda, B, ldb, C, ldc, alpha, beta);
}

void sgemm_tn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, float alpha, float beta) {
  sgemm(CblasTrans, CblasNoTrans, M, N, K, A, lda, B, ldb, C, ldc, alpha, beta);
}

void sgemm_nn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, float alpha, float beta) {
  sgemm(CblasNoTrans, CblasNoTrans, M, N, K, A, lda, B, ldb, C, ldc, alpha, beta);
}

namespace {
// Cephes expf on [-64, 88.4] (0 below -64): exp(x) = 2^n exp(g), n = round(x log2 e), |g| <= ln2/2,
// degree-6 polynomial. Written branch-free so that the loops below vectorise.
// no-trapping-math lets GCC if-convert the clamps so the loops vectorise (the
// results are identical; only floating-point exception flags are affected).
#define KVSIM_VECTORISE __attribute__((optimize("no-trapping-math")))
KVSIM_VECTORISE inline float exp_kernel(float x) {
  const float x0 = x;
  x = x > -64.f ? x : -64.f;  // no denormal intermediates (they cost microcode assists)
  x = x < 88.3762626647949f ? x : 88.3762626647949f;
  const float t = x * 1.44269504088896341f + 12582912.f;  // round to nearest via 1.5*2^23
  const float fn = t - 12582912.f;
  const std::int32_t n = __builtin_bit_cast(std::int32_t, t) - 0x4B400000;
  x = x - fn * 0.693359375f;
  x = x - fn * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500E-4f;
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * z + x + 1.0f;
  y = y * __builtin_bit_cast(float, (n + 127) << 23);
  // Flush below e^-64 (~1.6e-28) to 0: keeps denormals out of the GEMMs that
  // consume probabilities (a 10x slowdown otherwise); relative effect < 1e-23.
  return x0 >= -64.f ? y : 0.f;
}
}  // namespace

float expf_fast(float x) { return exp_kernel(x); }

KVSIM_VECTORISE double softmax_row(float* row, int n_visible, int n) {
  if (n_visible <= 0) {
    std::fill(row, row + n, 0.f);
    return 0.0;
  }
  float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < n_visible; ++j) mx = row[j] > mx ? row[j] : mx;
#pragma omp simd
  for (int j = 0; j < n_visible; ++j) row[j] = exp_kernel(row[j] - mx);
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int j = 0;
  for (; j + 4 <= n_visible; j += 4) {
    s0 += row[j];
    s1 += row[j + 1];
    s2 += row[j + 2];
    s3 += row[j + 3];
  }
  for (; j < n_visible; ++j) s0 += row[j];
  const double sum = (s0 + s1) + (s2 + s3);
  const float inv = static_cast<float>(1.0 / sum);
#pragma omp simd
  for (int j = 0; j < n_visible; ++j) row[j] *= inv;
  std::fill(row + n_visible, row + n, 0.f);
  return sum;
}

void group_attention(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int q_end,
                     const int* cand, int n, std::vector<float>& probs) {
  const int r = geom.r, d = geom.d, T = geom.T;
  const int nq = std::max(0, q_end - q_begin);
  probs.assign(std::size_t(r) * nq * n, 0.f);
  if (nq == 0 || n == 0) return;
  // Gather the candidate keys (n x d) and stack the group's queries (r*nq x d).
  std::vector<float> K(std::size_t(n) * d);
  const float* kbase = x.k.data() + std::size_t(g) * T * d;
  for (int i = 0; i < n; ++i)
    std::memcpy(&K[std::size_t(i) * d], kbase + std::size_t(cand[i]) * d, sizeof(float) * d);
  std::vector<float> Q(std::size_t(r) * nq * d);
  for (int hi = 0; hi < r; ++hi) {
    const float* qb = x.q.data() + (std::size_t(g * r + hi) * T + q_begin) * d;
    std::memcpy(&Q[std::size_t(hi) * nq * d], qb, sizeof(float) * std::size_t(nq) * d);
  }
  sgemm_nt(r * nq, n, d, Q.data(), d, K.data(), d, probs.data(), n, geom.scale);
  for (int hi = 0; hi < r; ++hi) {
    for (int i = 0; i < nq; ++i) {
      const int t = q_begin + i;
      const int vis = static_cast<int>(std::upper_bound(cand, cand + n, t) - cand);
      softmax_row(&probs[(std::size_t(hi) * nq + i) * n], vis, n);
    }
  }
}

void reduce_group(const std::vector<std::vector<double>>& per_head, GqaReduce how,
                  std::vector<double>& out) {
  const std::size_t n = per_head.empty() ? 0 : per_head[0].size();
  out.assign(n, how == GqaReduce::max ? -std::numeric_limits<double>::infinity() : 0.0);
  for (const auto& s : per_head) {
    for (std::size_t j = 0; j < n; ++j) {
      if (how == GqaReduce::max)
        out[j] = std::max(out[j], s[j]);
      else
        out[j] += s[j];
    }
  }
  if (how == GqaReduce::mean && !per_head.empty())
    for (auto& v : out) v /= static_cast<double>(per_head.size());
}

std::vector<double> avg_pool_zero_pad(const std::vector<double>& s, int kernel) {
  const int n = static_cast<int>(s.size());
  const int half = kernel / 2;
  std::vector<double> out(n, 0.0);
  for (int j = 0; j < n; ++j) {
    double acc = 0.0;
    for (int k = std::max(0, j - half); k <= std::min(n - 1, j + half); ++k) acc += s[k];
    out[j] = acc / kernel;
  }
  return out;
}

namespace {
double finite_max(const std::vector<double>& v, double init) {
  double m = init;
  for (double x : v)
    if (std::isfinite(x)) m = std::max(m, x);
  return m;
}
}  // namespace

void apply_protections(const KeptSet& cand, Scores& scores, int sinks, int recent,
                       int processed_end) {
  if (sinks <= 0 && recent <= 0) return;
  double mx = -std::numeric_limits<double>::infinity();
  for (const auto& s : scores) mx = finite_max(s, mx);
  if (!std::isfinite(mx)) mx = 0.0;
  const double top = mx + 1.0;
  const int recent_begin = processed_end - recent;
  for (std::size_t g = 0; g < cand.size(); ++g)
    for (std::size_t i = 0; i < cand[g].size(); ++i) {
      const int p = cand[g][i];
      if (p < sinks || (recent > 0 && p >= recent_begin)) scores[g][i] = top;
    }
}

void protect_indices(std::vector<double>& scores, const std::vector<int>& indices) {
  double mx = finite_max(scores, -std::numeric_limits<double>::infinity());
  if (!std::isfinite(mx)) mx = 0.0;
  for (int i : indices) scores[i] = mx + 1.0;
}

namespace {
// Strict "ranks before" order: higher score first, ties -> later position; NaN last.
struct Ranked {
  double score;
  int pos;
  int head;
};
inline bool ranks_before(const Ranked& a, const Ranked& b) {
  const bool an = std::isnan(a.score), bn = std::isnan(b.score);
  if (an != bn) return bn;
  if (!an && a.score != b.score) return a.score > b.score;
  if (a.pos != b.pos) return a.pos > b.pos;
  return a.head > b.head;
}
}  // namespace

std::vector<int> select_top(const std::vector<int>& cand, const std::vector<double>& scores, int n) {
  const int m = static_cast<int>(cand.size());
  if (n >= m) return cand;
  if (n <= 0) return {};
  std::vector<Ranked> r(m);
  for (int i = 0; i < m; ++i) r[i] = {scores[i], cand[i], 0};
  std::nth_element(r.begin(), r.begin() + (n - 1), r.end(), ranks_before);
  std::vector<int> out(n);
  for (int i = 0; i < n; ++i) out[i] = r[i].pos;
  std::sort(out.begin(), out.end());
  return out;
}

KeptSet select_pooled(const KeptSet& cand, const Scores& scores, long total, int floor_per_head) {
  const int G = static_cast<int>(cand.size());
  KeptSet out(G);
  long total_cand = 0;
  for (const auto& c : cand) total_cand += static_cast<long>(c.size());
  if (total >= total_cand) return cand;
  std::vector<Ranked> rest;
  rest.reserve(total_cand);
  long used = 0;
  for (int g = 0; g < G; ++g) {
    const int m = static_cast<int>(cand[g].size());
    std::vector<Ranked> r(m);
    for (int i = 0; i < m; ++i) r[i] = {scores[g][i], cand[g][i], g};
    std::sort(r.begin(), r.end(), ranks_before);
    const int f = std::min(m, std::max(0, floor_per_head));
    for (int i = 0; i < f; ++i) out[g].push_back(r[i].pos);
    used += f;
    rest.insert(rest.end(), r.begin() + f, r.end());
  }
  const long extra = std::max(0L, std::min<long>(total - used, static_cast<long>(rest.size())));
  if (extra > 0) {
    std::nth_element(rest.begin(), rest.begin() + (extra - 1), rest.end(), ranks_before);
    for (long i = 0; i < extra; ++i) out[rest[i].head].push_back(rest[i].pos);
  }
  for (auto& v : out) std::sort(v.begin(), v.end());
  return out;
}

double hash_uniform(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  std::uint64_t h = mix(seed);
  h = mix(h ^ a);
  h = mix(h ^ b);
  h = mix(h ^ c);
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

void parallel_for(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (n == 1 || omp_in_parallel() || omp_get_max_threads() == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::exception_ptr error;
  std::mutex mu;
#pragma omp parallel for schedule(dynamic, 1)
  for (int i = 0; i < n; ++i) {
    try {
      fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace kvsim
