#pragma once
// Row-major float32 GEMM wrappers over OpenBLAS (cblas_sgemm); K = 0 is an empty product.
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

}  // namespace kvsim
