#pragma once
// The GEMM work done on behalf of one scope (a sweep item's selection), on
// whichever threads run it: the BLAS wrappers add 2·M·N·K flops and their
// time to the calling thread's current tally, and parallel_for hands the
// caller's tally to its workers. What run.json and `kvsim bench` report as a
// stage's GEMM rate, next to the same run's sgemm.
#include <atomic>
#include <cstdint>

namespace kvsim {

struct GemmTally {
  std::atomic<std::uint64_t> flops{0};
  std::atomic<std::uint64_t> nanoseconds{0};  // summed over threads: thread-time spent in GEMMs
};

GemmTally* current_gemm_tally();

// Makes `tally` the thread's current one until destroyed (then the previous
// one again); null: no tally.
class GemmTallyScope {
 public:
  explicit GemmTallyScope(GemmTally* tally);
  ~GemmTallyScope();
  GemmTallyScope(const GemmTallyScope&) = delete;
  GemmTallyScope& operator=(const GemmTallyScope&) = delete;

 private:
  GemmTally* previous_;
};

// One thread's sgemm rate (GFLOP/s) while every thread of the team runs its
// own n x n x n sgemm at once: the yardstick for a GEMM done by one thread
// of a loaded machine (the engine's GEMMs run one per thread).
double sgemm_gflops_per_thread(int n = 512);

// The machine's sgemm rate (GFLOP/s) with BLAS's own threads: the best of
// `reps` n x n x n products (kvsim bench, and capture's prefill yardstick).
double square_sgemm_gflops(int n, int reps);

}  // namespace kvsim
