#pragma once
// Numerical building blocks shared by the policies and the metrics: BLAS
// wrappers, causal softmax over candidate sets, GQA group reduction, pooling,
// top-N selection and protections. Everything goes through float32 GEMMs
// (OpenBLAS) with softmax in float32 (max-subtracted) and sums in double.
#include <cstdint>
#include <vector>

#include "policies/policy.hpp"

namespace kvsim {

// C[M,N] = alpha * A[M,K] * B[N,K]^T + beta * C   (row-major)
void sgemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, float alpha = 1.f, float beta = 0.f);
// C[M,N] = alpha * A[K,M]^T * B[K,N] + beta * C   (row-major)
void sgemm_tn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, float alpha = 1.f, float beta = 0.f);
// C[M,N] = alpha * A[M,K] * B[K,N] + beta * C   (row-major)
void sgemm_nn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, float alpha = 1.f, float beta = 0.f);

// exp for x <= ~88 (Cephes polynomial, ~1 ulp), 0 below -64; vectorisable, deterministic.
float expf_fast(float x);

// In-place softmax of row[0, n_visible) (already scaled logits); row[n_visible, n) = 0.
// Returns the sum of the unnormalised exponentials (double).
double softmax_row(float* row, int n_visible, int n);

// Attention of the query heads of KV head g at query positions [q_begin, q_end)
// over candidate keys `cand` (sorted positions) of KV head g, causal by position
// (a query at t sees candidates with position <= t). probs is resized to
// [r * nq][n_cand], rows head-major (row = hi * nq + (t - q_begin)).
void group_attention(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int q_end,
                     const int* cand, int n_cand, std::vector<float>& probs);
inline void group_attention(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin,
                            int q_end, const std::vector<int>& cand, std::vector<float>& probs) {
  group_attention(x, geom, g, q_begin, q_end, cand.data(), static_cast<int>(cand.size()), probs);
}

// Reduce per-query-head scores [r][n] of one group to the KV head (mean or max).
void reduce_group(const std::vector<std::vector<double>>& per_head, GqaReduce how,
                  std::vector<double>& out);

// Average pooling along the sequence, odd kernel, zero padding counted (PyTorch
// avg_pool1d(kernel, padding=kernel/2, count_include_pad=True)).
std::vector<double> avg_pool_zero_pad(const std::vector<double>& s, int kernel);

// Shared protections (DESIGN §2): candidates with position < sinks or
// >= processed_end - recent get score max+1 over all heads' scores.
void apply_protections(const KeptSet& cand, Scores& scores, int sinks, int recent,
                       int processed_end);
// Sets the given candidate indices of one head to (max over that head)+1
// (used by policies for their own protected tokens: snapkv window, tova last token).
void protect_indices(std::vector<double>& scores, const std::vector<int>& indices);

// Top n of (cand, scores) by score, ties -> later position; NaN ranks lowest.
// Returns positions sorted ascending.
std::vector<int> select_top(const std::vector<int>& cand, const std::vector<double>& scores, int n);

// Pooled selection over several heads: each head keeps its top
// min(floor_per_head, n_h) first, then the remaining total - sum(floors) go to
// the highest remaining scores over all heads (ties: later position, then
// higher head index). Returns positions per head, sorted.
KeptSet select_pooled(const KeptSet& cand, const Scores& scores, long total, int floor_per_head);

// Deterministic uniform double in [0,1) from (seed, a, b, c) (splitmix64).
double hash_uniform(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c);

// Runs fn(i) for i in [0, n) in parallel (OpenMP, dynamic) unless already inside
// an active parallel region; rethrows the first exception on the calling thread.
void parallel_for(int n, const std::function<void(int)>& fn);

}  // namespace kvsim
