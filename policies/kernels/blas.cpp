#include "policies/kernels/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "policies/kernels/gemm_tally.hpp"

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
  GemmTally* tally = current_gemm_tally();
  const auto t0 = tally ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  cblas_sgemm(CblasRowMajor, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (tally) {
    tally->flops += 2ull * std::uint64_t(M) * std::uint64_t(N) * std::uint64_t(K);
    tally->nanoseconds += std::uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  }
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

void sgemm_nt_thread_invariant(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
                               int ldc) {
  constexpr int kBlock = 64;
  const int blocks = (N + kBlock - 1) / kBlock;
  // A team of >= 2 threads is an active parallel region, in which OpenBLAS
  // (OpenMP build) runs single-threaded; a team of one runs BLAS with one
  // thread anyway. Either way every block is one single-threaded GEMM.
  GemmTally* tally = current_gemm_tally();
#pragma omp parallel for schedule(static)
  for (int b = 0; b < blocks; ++b) {
    const GemmTallyScope scope(tally);
    const int n0 = b * kBlock, nb = std::min(kBlock, N - n0);
    sgemm_nt(M, nb, K, A, lda, B + std::size_t(n0) * ldb, ldb, C + n0, ldc);
  }
}

}  // namespace kvsim
