#include "policies/kernels/gemm_tally.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "policies/kernels/blas.hpp"

namespace kvsim {

namespace {
thread_local GemmTally* tls_tally = nullptr;
}  // namespace

GemmTally* current_gemm_tally() { return tls_tally; }

GemmTallyScope::GemmTallyScope(GemmTally* tally) : previous_(tls_tally) { tls_tally = tally; }
GemmTallyScope::~GemmTallyScope() { tls_tally = previous_; }

double sgemm_gflops_per_thread(int n) {
  const int threads = std::max(1, omp_get_max_threads());
  std::vector<double> rate(threads, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const GemmTallyScope none(nullptr);  // the yardstick is not a stage's work
    std::vector<float> a(std::size_t(n) * n, 1.0f / n), b(std::size_t(n) * n, 0.5f), c(std::size_t(n) * n);
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      sgemm_nn(n, n, n, a.data(), n, b.data(), n, c.data(), n);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    rate[omp_get_thread_num()] = 2.0 * n * double(n) * n / best * 1e-9;
  }
  double sum = 0;
  for (double r : rate) sum += r;
  return sum / threads;
}

double square_sgemm_gflops(int n, int reps) {
  const GemmTallyScope none(nullptr);
  std::vector<float> a(std::size_t(n) * n, 0.5f), b(std::size_t(n) * n, 0.25f), c(std::size_t(n) * n);
  double best = 1e30;
  for (int rep = 0; rep < std::max(1, reps); ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    sgemm_nn(n, n, n, a.data(), n, b.data(), n, c.data(), n);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * n * double(n) * n / best * 1e-9;
}

}  // namespace kvsim
