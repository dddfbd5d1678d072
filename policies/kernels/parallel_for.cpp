#include "policies/kernels/parallel_for.hpp"

#include <omp.h>
#include <exception>
#include <mutex>

#include "policies/kernels/gemm_tally.hpp"

namespace kvsim {

void parallel_for(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (n == 1 || omp_in_parallel() || omp_get_max_threads() == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::exception_ptr error;
  std::mutex mu;
  GemmTally* tally = current_gemm_tally();  // the caller's GEMM tally follows its work
#pragma omp parallel for schedule(dynamic, 1)
  for (int i = 0; i < n; ++i) {
    const GemmTallyScope scope(tally);
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
