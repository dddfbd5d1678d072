// Invariants of the replay engine and the metrics on synthetic data.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <map>
#include <numeric>

#include "policies/kernels/future_attention.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/replay.hpp"
#include "sim/engine/results_table.hpp"
#include "sim/engine/sweep.hpp"
#include "sim/model/synth.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {

using test::spec_for;

SynthConfig small_synth() {
  SynthConfig c;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.n_tokens = 224;
  c.context_len = 192;
  c.seed = 3;
  return c;
}

MemoryLayerSource synth_source(const SynthConfig& c) {
  std::vector<LayerTensors> layers;
  for (int l = 0; l < c.n_layers; ++l) layers.push_back(synth_layer(c, l));
  return MemoryLayerSource(c.attrs(), std::move(layers));
}

// Per-head policies (laprox pools per layer, full keeps everything).
const char* kPerHead[] = {"random", "streamingllm", "knorm", "keydiff", "snapkv:window=16",
                          "tova", "h2o", "oracle"};

// value of (item, layer, head, metric)
struct Rows {
  std::map<std::tuple<int, int, int, int>, double> m;
  double operator()(int item, int layer, int head, int metric) const {
    return m.at(std::make_tuple(item, layer, head, metric));
  }
};
Rows index_rows(const SweepResult& r) {
  Rows m;
  for (const auto& row : r.rows) m.m[std::make_tuple(row.item, row.layer, row.head, row.metric)] = row.value;
  return m;
}

TEST(Invariants, FullHasPerfectRecallAndZeroError) {
  const auto src = synth_source(small_synth());
  const SweepResult r = run_sweep(src, spec_for("full", "0.1,0.5", 32));
  int checked = 0;
  for (const auto& row : r.rows) {
    if (row.metric == kAttnRecall) {
      EXPECT_EQ(row.value, 1.0);
      ++checked;
    }
    if (row.metric == kHeadOutErr || row.metric == kLayerOutErr) {
      EXPECT_EQ(row.value, 0.0);
      ++checked;
    }
    if (row.metric == kTopkRecall) EXPECT_EQ(row.value, 1.0);
    if (row.metric == kKeptFraction) EXPECT_EQ(row.value, 1.0);
  }
  EXPECT_EQ(checked, 2 * 2 * (4 + 4 + 1));
}

TEST(Invariants, BudgetAtLeastContextEvictsNothing) {
  const auto c = small_synth();
  const auto src = synth_source(c);
  // one sweep per budget: all three keep the same 192 tokens, which one sweep refuses as duplicates
  for (const char* budget : {"192", "1.0", "500"}) {
    const SweepResult r = run_sweep(src, spec_for("all", budget, 32));
    for (std::size_t i = 0; i < r.items.size(); ++i) {
      EXPECT_EQ(r.items[i].budget_tokens, 192) << budget;  // clamped to C: the budget actually used
      for (const auto& layer : r.kept[i])
        for (const auto& s : layer) EXPECT_EQ(s.size(), 192u) << r.items[i].policy_label;
    }
    for (const auto& row : r.rows)
      if (row.metric == kAttnRecall) EXPECT_EQ(row.value, 1.0) << r.items[row.item].policy_label;
    // only a count above C is worth a warning
    EXPECT_EQ(r.warnings.all().size(), std::string(budget) == "500" ? 1u : 0u) << budget;
  }
}

// snapkv with N <= window: every kept token comes from the protected window,
// so the kept set is exactly the most recent N, one-shot and in block mode;
// the sweep says so instead of reporting it as SnapKV.
TEST(Invariants, SnapkvWithBudgetWithinItsWindowKeepsTheMostRecentTokensAndWarns) {
  const auto c = small_synth();
  const auto src = synth_source(c);
  for (int block : {0, 32}) {
    const SweepResult r = run_sweep(src, spec_for("snapkv:window=48", "16,48,64", block));
    std::vector<int> recent16(16), recent48(48);
    std::iota(recent16.begin(), recent16.end(), 192 - 16);
    std::iota(recent48.begin(), recent48.end(), 192 - 48);
    for (const auto& layer : r.kept[0])
      for (const auto& s : layer) EXPECT_EQ(s, recent16) << "block " << block;
    for (const auto& layer : r.kept[1])
      for (const auto& s : layer) EXPECT_EQ(s, recent48) << "block " << block;
    ASSERT_EQ(r.warnings.all().size(), 2u);  // budgets 16 and 48, not 64
    EXPECT_EQ(r.warnings.all()[0].code, "snapkv_window_covers_budget");
    EXPECT_EQ(r.warnings.all()[0].budget, 16);
    EXPECT_EQ(r.warnings.all()[1].budget, 48);
  }
}

// lagkv scores by position when a step has fewer than n_sink + 2 lag_size
// candidates, and its sinks and tail partition (>= lag_size tokens) tie at the
// top score: in those cases the kept set is the most recent tokens plus at
// most n_sink older ones, and the sweep says so instead of reporting it as LagKV.
TEST(Invariants, LagkvThatDegeneratesToRecencyKeepsSinksPlusRecentAndWarns) {
  const auto src = synth_source(small_synth());  // C = 192
  struct Case {
    int block;
    std::vector<std::string> codes;  // for budgets 20 and 60; "" = no caveat
  };
  const std::vector<int> budgets = {20, 60};
  for (const Case& c : {Case{0, {"lagkv_tail_covers_budget", ""}},
                        Case{4, {"lagkv_too_few_candidates", "lagkv_too_few_candidates"}},
                        Case{32, {"lagkv_too_few_candidates", "lagkv_too_few_candidates"}},  // last blocks: 12, 4
                        Case{96, {"lagkv_tail_covers_budget", ""}}}) {  // last blocks: 76, 36
    const SweepResult r = run_sweep(src, spec_for("lagkv:n_sink=4,lag_size=32", "20,60", c.block));
    std::size_t w = 0;
    for (int item = 0; item < 2; ++item) {
      const int n = budgets[item];
      if (c.codes[item].empty()) continue;
      ASSERT_LT(w, r.warnings.all().size()) << "block " << c.block;
      EXPECT_EQ(r.warnings.all()[w].budget, n);
      EXPECT_EQ(r.warnings.all()[w].code, c.codes[item]) << "block " << c.block << ", budget " << n;
      ++w;
      for (const auto& layer : r.kept[item])
        for (const auto& s : layer) {
          // The most recent tokens, plus at most n_sink = 4 older ones (a step's first candidates).
          EXPECT_EQ(s.size(), std::size_t(n));
          const auto recent = std::count_if(s.begin(), s.end(), [&](int p) { return p >= 192 - n; });
          EXPECT_GE(recent, n - 4) << "block " << c.block << ", budget " << n;
        }
    }
    EXPECT_EQ(w, r.warnings.all().size()) << "block " << c.block;
  }
}

TEST(Invariants, OracleBeatsEveryPerHeadPolicyOnGroupMeanRecall) {
  const auto src = synth_source(small_synth());
  std::string list = "oracle";
  for (const char* p : kPerHead)
    if (std::string(p) != "oracle") list += std::string(";") + p;
  for (int block : {0, 32}) {
    const SweepResult r = run_sweep(src, spec_for(list, "0.05,0.2,0.5", block));
    auto m = index_rows(r);
    const int nB = 3;
    for (std::size_t i = nB; i < r.items.size(); ++i) {
      const int oracle_item = r.items[i].budget;  // oracle items come first
      for (int layer = 0; layer < 2; ++layer)
        for (int g = 0; g < 2; ++g) {
          double po = 0, pp = 0;
          for (int h = 2 * g; h < 2 * g + 2; ++h) {
            po += m(oracle_item, layer, h, kAttnRecall);
            pp += m(int(i), layer, h, kAttnRecall);
          }
          EXPECT_GE(po + 1e-9, pp) << r.items[i].policy_label << " budget " << r.items[i].budget_tokens;
          // and M3 (oracle gap) is the per-head difference to the oracle
          for (int h = 2 * g; h < 2 * g + 2; ++h)
            EXPECT_NEAR(m(int(i), layer, h, kOracleGap),
                        m(oracle_item, layer, h, kAttnRecall) - m(int(i), layer, h, kAttnRecall), 1e-12);
        }
    }
  }
}

TEST(Invariants, RecallNonDecreasingInBudgetForOneShotScorers) {
  const auto src = synth_source(small_synth());
  std::string list = "laprox";
  for (const char* p : kPerHead) list += std::string(";") + p;
  const std::vector<std::string> budgets = {"8", "0.05", "0.1", "0.25", "0.5", "0.9"};
  std::string blist;
  for (const auto& b : budgets) blist += (blist.empty() ? "" : ",") + b;
  const SweepResult r = run_sweep(src, spec_for(list, blist, 0));
  auto m = index_rows(r);
  const int nB = static_cast<int>(budgets.size());
  for (std::size_t i = 0; i < r.items.size(); i += nB)
    for (int b = 1; b < nB; ++b)
      for (int layer = 0; layer < 2; ++layer)
        for (int h = 0; h < 4; ++h)
          EXPECT_GE(m(int(i) + b, layer, h, kAttnRecall) + 1e-12,
                    m(int(i) + b - 1, layer, h, kAttnRecall))
              << r.items[i].policy_label << " layer " << layer << " head " << h;
}

TEST(Invariants, KnormBlockProcessingEqualsOneShot) {
  const auto src = synth_source(small_synth());
  const SweepResult one = run_sweep(src, spec_for("knorm", "0.1,0.3", 0));
  for (int block : {1, 7, 32, 128}) {
    const SweepResult blk = run_sweep(src, spec_for("knorm", "0.1,0.3", block));
    EXPECT_EQ(one.kept, blk.kept) << "block " << block;
  }
}

TEST(Invariants, KeyDiffRankingEqualsMeanPairwiseCosine) {
  const LayerTensors x = synth_layer(small_synth(), 0);
  const LayerGeom geom = LayerGeom::from(small_synth().attrs(), 192);
  KeptSet cand(2);
  for (int p = 0; p < 192; p += 3) cand[0].push_back(p), cand[1].push_back(p + 1);
  LayerShared shared;
  StepContext ctx{x, geom, shared, 0, 0, 192, cand, 10, GqaReduce::mean, 0};
  auto pol = make_policy(parse_policy_spec("keydiff"));
  Scores s;
  pol->score(ctx, s);
  for (int g = 0; g < 2; ++g) {
    const auto& c = cand[g];
    std::vector<double> mpc(c.size());  // mean pairwise cosine to the candidate set
    for (std::size_t i = 0; i < c.size(); ++i) {
      double acc = 0;
      for (std::size_t j = 0; j < c.size(); ++j) {
        double dot = 0, ni = 0, nj = 0;
        for (int e = 0; e < 16; ++e) {
          const double a = x.k(g, c[i], e), b = x.k(g, c[j], e);
          dot += a * b, ni += a * a, nj += b * b;
        }
        acc += dot / std::sqrt(ni * nj);
      }
      mpc[i] = acc / c.size();
    }
    std::vector<int> by_keydiff(c.size()), by_cos(c.size());
    std::iota(by_keydiff.begin(), by_keydiff.end(), 0);
    std::iota(by_cos.begin(), by_cos.end(), 0);
    std::sort(by_keydiff.begin(), by_keydiff.end(), [&](int a, int b) { return s[g][a] > s[g][b]; });
    std::sort(by_cos.begin(), by_cos.end(), [&](int a, int b) { return mpc[a] < mpc[b]; });
    EXPECT_EQ(by_keydiff, by_cos);
  }
}

TEST(Invariants, OneMinusRecallIsTotalVariation) {
  const LayerTensors x = synth_layer(small_synth(), 1);
  const LayerGeom geom = LayerGeom::from(small_synth().attrs(), 192);
  const FutureAttention fa = compute_future_attention(x, geom);
  LayerShared shared;
  shared.future = &fa;
  for (const char* name : {"knorm", "snapkv", "h2o"}) {
    auto p = make_policy(parse_policy_spec(name));
    ReplayOptions o;
    o.block = 32;
    const KeptSet kept = replay_layer(*p, x, geom, 1, 40, o, shared);
    const LayerMetrics m = compute_metrics(fa, x, kept, nullptr, true);
    for (int h = 0; h < 4; ++h) {
      std::vector<char> in(224, 0);
      for (int j : kept[h / 2]) in[j] = 1;
      for (int j = 192; j < 224; ++j) in[j] = 1;
      double tv_mean = 0;
      for (int t = 192; t < 224; ++t) {
        // independent softmax in double, then TV(a, â) = 1/2 sum |a - â|
        std::vector<double> a(t + 1);
        double mx = -1e300;
        for (int j = 0; j <= t; ++j) {
          double dot = 0;
          for (int e = 0; e < 16; ++e) dot += double(x.q(h, t, e)) * x.k(h / 2, j, e);
          a[j] = dot * geom.scale;
          mx = std::max(mx, a[j]);
        }
        double z = 0, zs = 0;
        for (int j = 0; j <= t; ++j) a[j] = std::exp(a[j] - mx), z += a[j];
        for (int j = 0; j <= t; ++j) zs += in[j] ? a[j] : 0.0;
        double tv = 0;
        for (int j = 0; j <= t; ++j) tv += std::abs(a[j] / z - (in[j] ? a[j] / zs : 0.0));
        tv_mean += 0.5 * tv;
      }
      tv_mean /= 32;
      EXPECT_NEAR(1.0 - m.attn_recall[h], tv_mean, 2e-6) << name << " head " << h;
    }
  }
}

TEST(Invariants, PoliciesNeverSeeFutureQueries) {
  SynthConfig c = small_synth();
  c.n_layers = 1;
  LayerTensors a = synth_layer(c, 0);
  LayerTensors b = a;
  for (int h = 0; h < 4; ++h)
    for (int t = 192; t < 224; ++t)
      for (int e = 0; e < 16; ++e) b.q(h, t, e) = -3.f * a.q(h, t, e) + 1.f;
  std::vector<LayerTensors> la{a}, lb{b};
  MemoryLayerSource sa(c.attrs(), la), sb(c.attrs(), lb);
  for (int block : {0, 32}) {
    const SweepResult ra = run_sweep(sa, spec_for("all", "0.1,0.3", block));
    const SweepResult rb = run_sweep(sb, spec_for("all", "0.1,0.3", block));
    for (std::size_t i = 0; i < ra.items.size(); ++i) {
      if (ra.items[i].policy_label == "oracle") continue;
      EXPECT_EQ(ra.kept[i], rb.kept[i]) << ra.items[i].policy_label;
    }
  }
}

TEST(Invariants, LaproxLayerKeepsGNWithPerHeadFloor) {
  const auto src = synth_source(small_synth());
  const SweepResult r = run_sweep(src, spec_for("laprox;laprox:mode=model", "0.1,0.25", 32));
  for (std::size_t i = 0; i < r.items.size(); ++i) {
    const int N = r.items[i].budget_tokens;
    std::size_t total = 0;
    for (const auto& layer : r.kept[i]) {
      std::size_t lt = 0;
      for (const auto& s : layer) {
        EXPECT_GE(s.size(), std::size_t(N / 5));
        lt += s.size();
      }
      if (i < 2) EXPECT_EQ(lt, 2u * N);  // per layer: G*N
      total += lt;
    }
    EXPECT_EQ(total, 2u * 2u * N);  // model-wide: L*G*N
  }
  EXPECT_EQ(r.items[2].block, 0);  // model-wide mode is one-shot
}

TEST(Invariants, DeterministicAcrossRunsAndThreadCounts) {
  const auto src = synth_source(small_synth());
  auto csv_with = [&](int threads) {
    const int old = omp_get_max_threads();
    omp_set_num_threads(threads);
    SweepSpec s = spec_for("all", "0.1,0.25", 32);
    s.options.sinks = 2;
    s.options.recent = 8;
    s.options.seed = 11;
    const std::string csv = results_csv(run_sweep(src, s), "d.h5");
    omp_set_num_threads(old);
    return csv;
  };
  const std::string one = csv_with(1);
  EXPECT_EQ(one, csv_with(1));
  EXPECT_EQ(one, csv_with(2));
  EXPECT_EQ(one, csv_with(3));
}

}  // namespace
}  // namespace kvsim
