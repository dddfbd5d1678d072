// kvsim bench: engine timings on a synthetic Llama-3.1-8B-shaped layer.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "io/errors.hpp"
#include "sim/engine/bench_engine.hpp"
#include "sim/cli/options.hpp"
#include "sim/engine/sweep.hpp"
#include "sim/run/common_options.hpp"

namespace kvsim::cli {

int cmd_bench(const Args& args) {
  BenchConfig cfg;
  int threads = 0, sweep_layers = 0;
  bool small = false;
  std::string policies;
  po::options_description desc("bench options");
  add_threads_option(desc, threads);
  desc.add_options()
      ("small", po::bool_switch(&small), "small shape: 8 heads, 2 KV heads, d=64, 2048 context, budget 512")
      ("heads", po::value(&cfg.heads)->default_value(cfg.heads), "query heads")
      ("kv-heads", po::value(&cfg.kv_heads)->default_value(cfg.kv_heads), "KV heads")
      ("head-dim", po::value(&cfg.head_dim)->default_value(cfg.head_dim), "head dimension")
      ("context", po::value(&cfg.context)->default_value(cfg.context), "context tokens C")
      ("future", po::value(&cfg.future)->default_value(cfg.future), "future queries")
      ("budget", po::value(&cfg.budget)->default_value(cfg.budget), "budget N (tokens)")
      ("block", po::value(&cfg.block)->default_value(cfg.block), "block B")
      ("reps", po::value(&cfg.reps)->default_value(cfg.reps), "repetitions of the kernel timings (best of)")
      ("policies", po::value(&policies), "comma-separated policy names (default: all)")
      ("sweep-layers", po::value(&sweep_layers)->default_value(0),
       "also time a full sweep (all policies x 4 budgets) over this many generated layers");
  po::variables_map vm;
  if (!parse_options("bench", "[options]", args, desc, vm)) return 0;
  if (small) {  // only the options not given explicitly
    if (vm["heads"].defaulted()) cfg.heads = 8;
    if (vm["kv-heads"].defaulted()) cfg.kv_heads = 2;
    if (vm["head-dim"].defaulted()) cfg.head_dim = 64;
    if (vm["context"].defaulted()) cfg.context = 2048;
    if (vm["budget"].defaulted()) cfg.budget = 512;
  }
  apply_threads_option(threads);
  if (!policies.empty()) {
    std::stringstream ss(policies);
    std::string p;
    while (std::getline(ss, p, ',')) cfg.policies.push_back(p);
  }
  std::printf("kvsim bench: layer H=%d G=%d d=%d, context %d + %d future, budget %d, block %d, %d threads\n",
              cfg.heads, cfg.kv_heads, cfg.head_dim, cfg.context, cfg.future, cfg.budget, cfg.block,
              omp_get_max_threads());
  std::fflush(stdout);
  const BenchReport rep = run_bench(cfg);
  std::printf("synthetic layer generated in %.2f s\n", rep.synth_seconds);
  std::printf("future-query attention kernel: %8.3f s  %7.1f GFLOP/s\n", rep.attention_seconds,
              rep.attention_gflops);
  std::printf("same GEMMs, plain cblas_sgemm:  %8.3f s  %7.1f GFLOP/s  (kernel = %.0f%% of sgemm)\n",
              rep.sgemm_seconds, rep.sgemm_gflops, 100.0 * rep.attention_gflops / rep.sgemm_gflops);
  std::printf("cblas_sgemm 2048^3:                        %7.1f GFLOP/s\n", rep.square_sgemm_gflops);
  std::printf("sgemm 512^3 per thread, all threads busy: %7.1f GFLOP/s (the yardstick below)\n",
              rep.sgemm_gflops_per_thread);
  std::printf("\n%-20s %11s %11s %11s %11s %14s %9s %10s\n", "policy", "select [s]", "metrics [s]", "total [s]",
              "GEMM GFLOP", "GEMM GFLOP/s/t", "vs sgemm", "peak [MiB]");
  for (const auto& p : rep.policies) {
    std::printf("%-20s %11.3f %11.3f %11.3f", p.policy.c_str(), p.select_seconds, p.metric_seconds,
                p.select_seconds + p.metric_seconds);
    if (p.select_gemm_thread_seconds > 0) {
      const double rate = p.select_gemm_flops / p.select_gemm_thread_seconds * 1e-9;
      std::printf(" %11.2f %14.1f %8.0f%%", p.select_gemm_flops * 1e-9, rate,
                  100.0 * rate / rep.sgemm_gflops_per_thread);
    } else {
      std::printf(" %11s %14s %9s", "-", "-", "-");
    }
    if (p.peak_rss_kb >= 0) std::printf(" %10.1f\n", p.peak_rss_kb / 1024.0);
    else std::printf(" %10s\n", "-");
  }
  if (sweep_layers > 0) {
    const SynthConfig sc = cfg.synth();
    DumpAttrs attrs = sc.attrs();
    attrs.n_layers = sweep_layers;
    GeneratedLayerSource src(attrs, true, [&](int l) { return synth_layer(sc, l); });
    SweepSpec spec;
    spec.policies = parse_policy_list(policies.empty() ? "all" : policies);
    spec.budgets = parse_budget_list("0.05,0.1,0.25,0.5");
    spec.options.block = cfg.block;
    const auto t0 = std::chrono::steady_clock::now();
    const SweepResult res = run_sweep(src, spec);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("\nsweep (%zu policies x 4 budgets, %d layers): %.2f s wall, %.2f s per layer "
                "(layer generation %.2f s included)\n",
                spec.policies.size(), sweep_layers, s, s / sweep_layers, res.read_seconds);
  }
  std::printf("\npeak RSS: %.1f MiB\n", rep.peak_rss_kb / 1024.0);
  return 0;
}

}  // namespace kvsim::cli
