#include "policies/kernels/group_attention.hpp"

#include <algorithm>
#include <cstring>

#include "policies/kernels/blas.hpp"
#include "policies/kernels/softmax.hpp"

namespace kvsim {

namespace {
// probs[r * nq][n] = scale * Q K^T of the group's heads at queries [q_begin, q_end)
// over the candidate keys; the buffers are reused per thread, since fresh
// multi-MB allocations cost a page fault per 4 KiB.
void group_logits(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int nq, const int* cand, int n,
                  std::vector<float>& probs) {
  const int r = geom.r, d = geom.d, T = geom.T;
  thread_local std::vector<float> K, Q;
  K.resize(std::size_t(n) * d);
  const float* kbase = x.k.data() + std::size_t(g) * T * d;
  for (int i = 0; i < n; ++i)
    std::memcpy(&K[std::size_t(i) * d], kbase + std::size_t(cand[i]) * d, sizeof(float) * d);
  Q.resize(std::size_t(r) * nq * d);
  for (int hi = 0; hi < r; ++hi) {
    const float* qb = x.q.data() + (std::size_t(g * r + hi) * T + q_begin) * d;
    std::memcpy(&Q[std::size_t(hi) * nq * d], qb, sizeof(float) * std::size_t(nq) * d);
  }
  sgemm_nt(r * nq, n, d, Q.data(), d, K.data(), d, probs.data(), n, geom.scale);
}
}  // namespace

void group_attention(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int q_end,
                     const int* cand, int n, std::vector<float>& probs) {
  const int r = geom.r;
  const int nq = std::max(0, q_end - q_begin);
  // Every element is written below (the GEMM with beta = 0, then each row's
  // softmax pads with zeros): no zero-fill.
  probs.resize(std::size_t(r) * nq * n);
  if (nq == 0 || n == 0) return;
  group_logits(x, geom, g, q_begin, nq, cand, n, probs);
  for (int hi = 0; hi < r; ++hi) {
    for (int i = 0; i < nq; ++i) {
      const int t = q_begin + i;
      const int vis = static_cast<int>(std::upper_bound(cand, cand + n, t) - cand);
      softmax_row(&probs[(std::size_t(hi) * nq + i) * n], vis, n);
    }
  }
}

void group_attention_exp(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int q_end,
                         const int* cand, int n, std::vector<float>& exps, std::vector<float>& inv_sum,
                         std::vector<int>& visible) {
  const int r = geom.r;
  const int nq = std::max(0, q_end - q_begin);
  exps.resize(std::size_t(r) * nq * n);
  inv_sum.assign(std::size_t(r) * nq, 0.f);
  visible.assign(std::size_t(r) * nq, 0);
  if (nq == 0 || n == 0) return;
  group_logits(x, geom, g, q_begin, nq, cand, n, exps);
  for (int hi = 0; hi < r; ++hi)
    for (int i = 0; i < nq; ++i) {
      const std::size_t row = std::size_t(hi) * nq + i;
      const int vis = static_cast<int>(std::upper_bound(cand, cand + n, q_begin + i) - cand);
      const double sum = exp_row(&exps[row * n], vis);
      visible[row] = vis;
      inv_sum[row] = vis > 0 ? static_cast<float>(1.0 / sum) : 0.f;
    }
}

}  // namespace kvsim
