#include "policies/kernels/blas.hpp"

#include <cblas.h>
#include <cstddef>

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

}  // namespace kvsim
