// Google Benchmark target for the replay engine. Shape from the environment:
// KVSIM_BENCH_SMALL=1 uses 8 heads / 2 KV heads / d=64 / 2048 context.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "sim/engine/bench_engine.hpp"
#include "policies/kernels/future_attention.hpp"
#include "policies/kernels/blas.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/replay.hpp"

namespace {
using namespace kvsim;

struct Fixture {
  BenchConfig cfg;
  LayerGeom geom;
  LayerTensors x;
  FutureAttention fa;
  Fixture() {
    if (const char* s = std::getenv("KVSIM_BENCH_SMALL"); s && std::strcmp(s, "0") != 0) {
      cfg.heads = 8;
      cfg.kv_heads = 2;
      cfg.head_dim = 64;
      cfg.context = 2048;
      cfg.budget = 512;
    }
    const SynthConfig sc = cfg.synth();
    x = synth_layer(sc, 0);
    geom = LayerGeom::from(sc.attrs(), cfg.context);
    fa = compute_future_attention(x, geom);
  }
};
Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_FutureAttention(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(compute_future_attention(f.x, f.geom));
  state.counters["GFLOP/s"] = benchmark::Counter(f.fa.kernel_flops * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FutureAttention)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PlainSgemm(benchmark::State& state) {
  auto& f = fixture();
  const auto& g = f.geom;
  const int rW = g.r * g.W();
  std::vector<float> Q(std::size_t(rW) * g.d, 0.1f), S(std::size_t(rW) * g.T), O(std::size_t(rW) * g.d);
  for (auto _ : state)
    parallel_for(g.G, [&](int kv) {
      std::vector<float> s(S.size()), o(O.size());
      sgemm_nt(rW, g.T, g.d, Q.data(), g.d, f.x.k.data() + std::size_t(kv) * g.T * g.d, g.d, s.data(), g.T);
      sgemm_nn(rW, g.d, g.T, s.data(), g.T, f.x.v.data() + std::size_t(kv) * g.T * g.d, g.d, o.data(), g.d);
      benchmark::DoNotOptimize(o.data());
    });
  state.counters["GFLOP/s"] = benchmark::Counter(f.fa.kernel_flops * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlainSgemm)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Policy(benchmark::State& state, const std::string& name) {
  auto& f = fixture();
  ReplayOptions opt;
  opt.block = f.cfg.block;
  for (auto _ : state) {
    auto pol = make_policy(parse_policy_spec(name));
    LayerShared shared;
    shared.future = &f.fa;
    pol->prepare_layer(f.x, f.geom, shared);
    benchmark::DoNotOptimize(replay_layer(*pol, f.x, f.geom, 0, f.cfg.budget, opt, shared));
  }
}

void BM_Metrics(benchmark::State& state) {
  auto& f = fixture();
  const TopNSets topn = compute_topn(f.fa, f.x, f.cfg.budget);
  const KeptSet kept = oracle_kept(f.fa, f.cfg.budget);
  for (auto _ : state) benchmark::DoNotOptimize(compute_metrics(f.fa, f.x, kept, &topn, false));
}
BENCHMARK(BM_Metrics)->Unit(benchmark::kMillisecond)->UseRealTime();

const bool registered = [] {
  for (const auto& p : policy_registry())
    benchmark::RegisterBenchmark(("BM_Policy/" + p.name).c_str(), BM_Policy, p.name)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1);
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
