#include "policies/kernels/group_attention.hpp"

#include <algorithm>
#include <cstring>

#include "policies/kernels/blas.hpp"
#include "policies/kernels/softmax.hpp"

namespace kvsim {

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

}  // namespace kvsim
