// M2 (topk_recall) on a peaked head: the probabilities of most context keys
// underflow to exactly 0, but their logits still differ. TopN must rank by the
// logits s·q·k (exact), not fall back on the "later position wins" tie rule
// among flushed zeros.
#include <gtest/gtest.h>

#include "policies/kernels/future_attention.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/sweep.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {

// H = G = 1, d = 1, scale 1, C = 8, one future query (t = 8) with q = 1.
// Keys: k_j = 6 - j for j < 7 (logits 6, 5, ..., 0), k_7 = 100, k_8 = 0.
// exp(6 - 100) = e^-94 underflows: p = (0, ..., 0, 1, 0).
// Top-2 by logit: {7 (100), 0 (6)}. Ranking the flushed zeros by position
// instead would give {7, 6}.
struct PeakedHead {
  LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 1, 9, 8, 1, 1.0), 8);
  LayerTensors x = test::zero_layer(1, 1, 1, 9);
  PeakedHead() {
    x.q(0, 8, 0) = 1.f;
    for (int j = 0; j < 7; ++j) x.k(0, j, 0) = float(6 - j);
    x.k(0, 7, 0) = 100.f;
  }
};

TEST(MetricsTopk, RanksFlushedProbabilitiesByLogit) {
  PeakedHead p;
  const FutureAttention fa = compute_future_attention(p.x, p.geom);
  ASSERT_EQ(fa.row(0, 0)[0], 0.f);  // the premise: flushed to 0
  ASSERT_EQ(fa.row(0, 0)[6], 0.f);
  const TopNSets topn = compute_topn(fa, p.x, 2);
  // kept {0, 7} = the exact top 2: recall 1
  EXPECT_EQ(compute_metrics(fa, p.x, KeptSet{{0, 7}}, &topn).topk_recall[0], 1.0);
  // kept {5, 6}: neither is in the top 2
  EXPECT_EQ(compute_metrics(fa, p.x, KeptSet{{5, 6}}, &topn).topk_recall[0], 0.0);
  // kept {6, 7}: only 7
  EXPECT_EQ(compute_metrics(fa, p.x, KeptSet{{6, 7}}, &topn).topk_recall[0], 0.5);
}

TEST(MetricsTopk, SweepReportsLogitRankedTopkRecall) {
  PeakedHead p;
  MemoryLayerSource src(test::tiny_attrs(1, 1, 1, 1, 9, 8, 1, 1.0), {p.x});
  SweepSpec spec;
  // streamingllm:n_sink=1 keeps {0, 7}; knorm keeps the two smallest |k|: {5, 6}
  spec.policies = parse_policy_list("streamingllm:n_sink=1,knorm");
  spec.budgets = parse_budget_list("2");
  spec.options.block = 0;
  const SweepResult r = run_sweep(src, spec);
  std::map<std::string, double> topk;
  for (const auto& row : r.rows)
    if (row.head == 0 && row.metric == kTopkRecall) topk[r.items[row.item].policy_label] = row.value;
  EXPECT_EQ(topk.at("streamingllm:n_sink=1"), 1.0);
  EXPECT_EQ(topk.at("knorm"), 0.0);
}

}  // namespace
}  // namespace kvsim
