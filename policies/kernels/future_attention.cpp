#include "policies/kernels/future_attention.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include <cblas.h>

#include "policies/kernels/blas.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/kernels/softmax.hpp"

namespace kvsim {

void compute_future_attention(const LayerTensors& x, const LayerGeom& geom, FutureAttention& fa) {
  fa.geom = geom;
  const int H = geom.H, G = geom.G, r = geom.r, d = geom.d, T = geom.T, C = geom.C, W = geom.W();
  const int rW = r * W;
  fa.P.resize(G);
  fa.total.assign(std::size_t(H) * W, 0.0);
  fa.fut_mass.assign(std::size_t(H) * W, 0.0);
  fa.o_all.assign(std::size_t(H) * W * d, 0.f);
  fa.o_fut.assign(std::size_t(H) * W * d, 0.f);
  fa.oracle_score.assign(std::size_t(G) * C, 0.0);
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(G, [&](int g) {
    auto& P = fa.P[g];
    P.resize(std::size_t(rW) * T);  // fully overwritten by the GEMM + softmax
    // Stack the group's future queries: (r*W) x d. Heads of a group are contiguous in q.
    std::vector<float> Q(std::size_t(rW) * d);
    for (int hi = 0; hi < r; ++hi)
      std::memcpy(&Q[std::size_t(hi) * W * d], x.q.data() + (std::size_t(g * r + hi) * T + C) * d,
                  sizeof(float) * std::size_t(W) * d);
    const float* K = x.k.data() + std::size_t(g) * T * d;
    const float* V = x.v.data() + std::size_t(g) * T * d;
    sgemm_nt(rW, T, d, Q.data(), d, K, d, P.data(), T, geom.scale);
    for (int row = 0; row < rW; ++row) softmax_row(&P[std::size_t(row) * T], C + row % W + 1, T);
    // o_all = P V ; o_fut = P[:, C:T] V[C:T]
    float* oall = fa.o_all.data() + std::size_t(g) * rW * d;
    float* ofut = fa.o_fut.data() + std::size_t(g) * rW * d;
    sgemm_nn(rW, d, T, P.data(), T, V, d, oall, d);
    sgemm_nn(rW, d, W, P.data() + C, T, V + std::size_t(C) * d, d, ofut, d);
    // Rows are normalised: total = 1 by definition (the float row sum differs by
    // ~1e-7, far below any reported digit that matters); the future part is summed.
    for (int row = 0; row < rW; ++row) {
      const float* p = &P[std::size_t(row) * T];
      double fut = 0;
#pragma omp simd reduction(+ : fut)
      for (int j = C; j < T; ++j) fut += p[j];
      fa.total[std::size_t(g) * rW + row] = 1.0;
      fa.fut_mass[std::size_t(g) * rW + row] = fut;
    }
    // oracle score: column sums of the context part over the group's rows (BLAS gemv).
    std::vector<float> ones(rW, 1.f / r), col(C);
    cblas_sgemv(CblasRowMajor, CblasTrans, rW, C, 1.f, P.data(), T, ones.data(), 1, 0.f, col.data(), 1);
    double* os = fa.oracle_score.data() + std::size_t(g) * C;
    for (int j = 0; j < C; ++j) os[j] = col[j];
  });
  fa.kernel_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fa.kernel_flops = 4.0 * H * double(W) * T * d;
  if (x.o_proj) {
    const int D = geom.D, Hd = H * d;
    fa.has_y = true;
    // O (W x Hd): normalised head outputs, head h in columns [h*d, (h+1)*d).
    std::vector<float> O(std::size_t(W) * Hd);
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < W; ++i) {
        const float inv = static_cast<float>(1.0 / fa.total[std::size_t(h) * W + i]);
        const float* src = fa.o_all.data() + (std::size_t(h) * W + i) * d;
        float* dst = &O[std::size_t(i) * Hd + std::size_t(h) * d];
        for (int c = 0; c < d; ++c) dst[c] = src[c] * inv;
      }
    fa.y.assign(std::size_t(W) * D, 0.f);
    sgemm_nt_thread_invariant(W, D, Hd, O.data(), Hd, x.o_proj->data(), Hd, fa.y.data(), D);
    fa.y_norm.assign(W, 0.0);
    for (int i = 0; i < W; ++i) {
      double s = 0;
      for (int c = 0; c < D; ++c) s += double(fa.y[std::size_t(i) * D + c]) * fa.y[std::size_t(i) * D + c];
      fa.y_norm[i] = std::sqrt(s);
    }
  } else {
    fa.has_y = false;
  }
}

}  // namespace kvsim
