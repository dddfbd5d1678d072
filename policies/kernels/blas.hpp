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

// sgemm_nt whose bits do not depend on the thread count: a multi-threaded
// OpenBLAS call may round differently from a single-threaded one, so the
// columns are split into fixed blocks, each one single-threaded GEMM, run in
// parallel. For products computed outside the engine's parallel loops
// (where BLAS would otherwise use every thread), so that --threads and the
// MPI layout never change a published digit.
void sgemm_nt_thread_invariant(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
                               int ldc);

}  // namespace kvsim
