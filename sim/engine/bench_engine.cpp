#include "sim/engine/bench_engine.hpp"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

#include "policies/kernels/future_attention.hpp"
#include "policies/kernels/blas.hpp"
#include "policies/kernels/gemm_tally.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/replay.hpp"

namespace kvsim {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // 5: reset the peak RSS (proc(5))
  clear.flush();
  return static_cast<bool>(clear);
}

long peak_rss_since_reset_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

SynthConfig BenchConfig::synth() const {
  SynthConfig s;
  s.n_layers = 1;
  s.n_heads = heads;
  s.n_kv_heads = kv_heads;
  s.head_dim = head_dim;
  s.n_tokens = context + future;
  s.context_len = context;
  s.with_o_proj = true;
  s.model = "bench-llama-3.1-8b-shape";
  return s;
}

BenchReport run_bench(const BenchConfig& cfg) {
  BenchReport rep;
  rep.threads = omp_get_max_threads();
  const SynthConfig sc = cfg.synth();
  auto t0 = Clock::now();
  const LayerTensors x = synth_layer(sc, 0);
  rep.synth_seconds = since(t0);
  const LayerGeom geom = LayerGeom::from(sc.attrs(), cfg.context);
  const int reps = std::max(1, cfg.reps);

  // Future-query attention kernel (best of reps).
  FutureAttention fa;
  rep.attention_seconds = std::numeric_limits<double>::infinity();
  for (int i = 0; i < reps; ++i) {
    compute_future_attention(x, geom, fa);
    rep.attention_seconds = std::min(rep.attention_seconds, fa.kernel_seconds);
  }
  rep.attention_gflops = fa.kernel_flops / rep.attention_seconds * 1e-9;

  // The same GEMMs through plain cblas_sgemm, same parallel structure, no softmax.
  {
    const int r = geom.r, d = geom.d, T = geom.T, C = geom.C, W = geom.W(), rW = r * W;
    std::vector<std::vector<float>> Q(geom.G, std::vector<float>(std::size_t(rW) * d));
    std::vector<std::vector<float>> S(geom.G, std::vector<float>(std::size_t(rW) * T));
    std::vector<std::vector<float>> O(geom.G, std::vector<float>(std::size_t(rW) * d));
    for (int g = 0; g < geom.G; ++g)
      for (int hi = 0; hi < r; ++hi)
        std::memcpy(&Q[g][std::size_t(hi) * W * d], x.q.data() + (std::size_t(g * r + hi) * T + C) * d,
                    sizeof(float) * std::size_t(W) * d);
    rep.sgemm_seconds = std::numeric_limits<double>::infinity();
    for (int i = 0; i < reps; ++i) {
      t0 = Clock::now();
      parallel_for(geom.G, [&](int g) {
        const float* K = x.k.data() + std::size_t(g) * T * d;
        const float* V = x.v.data() + std::size_t(g) * T * d;
        sgemm_nt(rW, T, d, Q[g].data(), d, K, d, S[g].data(), T, geom.scale);
        sgemm_nn(rW, d, T, S[g].data(), T, V, d, O[g].data(), d);
      });
      rep.sgemm_seconds = std::min(rep.sgemm_seconds, since(t0));
    }
    rep.sgemm_gflops = fa.kernel_flops / rep.sgemm_seconds * 1e-9;
  }
  rep.square_sgemm_gflops = square_sgemm_gflops(2048, reps);

  // Every policy at the budget, block B, one layer: selection and metrics timed separately.
  // Default: every policy that runs on a dump without a question: `all` and
  // the two outside it that need nothing more (finch needs question_len,
  // per_layer its shares).
  std::vector<std::string> names = cfg.policies;
  if (names.empty())
    for (const auto& p : parse_policy_list("all,chunkkv,simlayerkv")) names.push_back(p.label());
  ReplayOptions opt;
  opt.block = cfg.block;
  const TopNSets topn = compute_topn(fa, x, cfg.budget);
  // Each policy resets the peak-RSS mark: the process peak is kept here.
  long overall_peak_kb = peak_rss_kb();
  for (const auto& name : names) {
    const PolicySpec spec = parse_policy_spec(name);
    auto pol = make_policy(spec);
    pol->check(geom);
    LayerShared shared;
    shared.future = &fa;
    BenchPolicyTiming t;
    t.policy = spec.label();
    GemmTally gemm;
    const bool measures_rss = reset_peak_rss();
    t0 = Clock::now();
    KeptSet kept;
    {
      const GemmTallyScope scope(&gemm);
      pol->prepare_layer(x, geom, shared);
      kept = replay_layer(*pol, x, geom, 0, cfg.budget, opt, shared);
    }
    t.select_seconds = since(t0);
    t.select_gemm_flops = double(gemm.flops.load());
    t.select_gemm_thread_seconds = double(gemm.nanoseconds.load()) * 1e-9;
    t0 = Clock::now();
    compute_metrics(fa, x, kept, &topn, false);
    t.metric_seconds = since(t0);
    if (measures_rss) t.peak_rss_kb = peak_rss_since_reset_kb();
    overall_peak_kb = std::max(overall_peak_kb, t.peak_rss_kb);
    rep.policies.push_back(t);
  }
  rep.sgemm_gflops_per_thread = sgemm_gflops_per_thread();
  rep.peak_rss_kb = std::max(overall_peak_kb, peak_rss_kb());
  return rep;
}

}  // namespace kvsim
