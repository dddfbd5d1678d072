#pragma once
// Engine benchmark on one synthetic layer (used by `kvsim bench` and bench/).
#include <string>
#include <vector>

#include "sim/model/synth.hpp"

namespace kvsim {

struct BenchConfig {
  int heads = 32, kv_heads = 8, head_dim = 128, context = 8192, future = 128;
  int budget = 2048, block = 128;
  int reps = 1;
  std::vector<std::string> policies;  // empty = all
  SynthConfig synth() const;
};

struct BenchPolicyTiming {
  std::string policy;
  double select_seconds = 0;   // block replay (scoring + selection) for one layer
  double metric_seconds = 0;   // M1..M5 for one layer
  double select_gemm_flops = 0, select_gemm_thread_seconds = 0;  // the selection's GEMMs (gemm_tally)
  // Peak RSS while this policy selected and was measured: the high-water mark
  // is reset before it (/proc/self/clear_refs), so this is the layer's
  // tensors plus this policy's own memory. -1 where the kernel refuses the reset.
  long peak_rss_kb = -1;
};

struct BenchReport {
  double synth_seconds = 0;
  double attention_seconds = 0, attention_gflops = 0;  // future-query attention kernel
  double sgemm_seconds = 0, sgemm_gflops = 0;          // the same GEMMs, plain cblas_sgemm, no softmax
  double square_sgemm_gflops = 0;                      // 2048^3 cblas_sgemm, BLAS threads
  double sgemm_gflops_per_thread = 0;                  // one thread's rate with every thread busy (gemm_tally)
  std::vector<BenchPolicyTiming> policies;
  long peak_rss_kb = 0;
  int threads = 1;
};

BenchReport run_bench(const BenchConfig& cfg);
long peak_rss_kb();  // getrusage(RUSAGE_SELF).ru_maxrss
// Resets the process's peak-RSS mark to its current RSS; false if refused.
bool reset_peak_rss();
long peak_rss_since_reset_kb();  // VmHWM of /proc/self/status, -1 if unreadable

}  // namespace kvsim
