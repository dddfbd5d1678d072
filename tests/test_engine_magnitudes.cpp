// Finite but extreme magnitudes in q, k, v and o_proj (issue 9, "no silently
// wrong number"): every result is finite and correct, or the sweep stops with
// one message naming the layer and KV head. Values far beyond any real
// activation (1e19, 3e38) stand in for a dump written with the wrong dtype or
// scale; they used to give nan recall, an exactly zero layer error, or a
// different laprox kept set, all with exit 0.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "io/errors.hpp"
#include "sim/engine/sweep.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {

using test::spec_for;

constexpr int kH = 4, kG = 2, kD = 8, kT = 48, kC = 40, kHidden = 16;
const double kScale = 1.0 / std::sqrt(double(kD));

// Two layers: layer 0 as generated, layer 1 = layer 0 edited by `edit`.
MemoryLayerSource pair_source(const std::function<void(LayerTensors&)>& edit) {
  LayerTensors a = test::random_layer(kH, kG, kD, kT, kHidden, 7);
  LayerTensors b = a;
  edit(b);
  return MemoryLayerSource(test::tiny_attrs(2, kH, kG, kD, kT, kC, kHidden, kScale), {a, b});
}

void expect_all_finite(const SweepResult& r) {
  for (const auto& row : r.rows)
    EXPECT_TRUE(std::isfinite(row.value)) << r.items[row.item].policy_label << " layer " << row.layer
                                          << " head " << row.head << " " << metric_name(row.metric);
}

std::string error_of(const LayerSource& src, const SweepSpec& spec) {
  try {
    run_sweep(src, spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(EngineMagnitudes, QueryKeyProductsBeyondFloatRangeAreRejectedNamingLayerAndKvHead) {
  // 2e19 * 2e19 = 4e38 > FLT_MAX: q.k overflows float32 in every attention GEMM.
  const auto src = pair_source([](LayerTensors& x) {
    for (int c = 0; c < kD; ++c) {
      x.q(2, 44, c) = 2e19f;  // a future query of query head 2 (KV head 1)
      x.k(1, 3, c) = 2e19f;
    }
  });
  const std::string err = error_of(src, spec_for("knorm,snapkv:window=8", "0.25", 8));
  EXPECT_NE(err.find("layer 1"), std::string::npos) << err;
  EXPECT_NE(err.find("KV head 1"), std::string::npos) << err;
  EXPECT_NE(err.find("overflow"), std::string::npos) << err;
  EXPECT_NE(err.find("--allow-nonfinite"), std::string::npos) << err;
}

TEST(EngineMagnitudes, OverflowingKvHeadIsSkippedWithAllowNonfinite) {
  const auto src = pair_source([](LayerTensors& x) {
    for (int c = 0; c < kD; ++c) {
      x.q(2, 10, c) = 3e38f;  // a context query: only the policies' attention sees it
      x.k(1, 3, c) = 3e38f;
    }
  });
  SweepSpec spec = spec_for("knorm,snapkv:window=8,h2o", "0.25", 8);
  spec.allow_nonfinite = true;
  const SweepResult r = run_sweep(src, spec);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].layer, 1);
  EXPECT_EQ(r.skipped[0].kv_head, 1);
  expect_all_finite(r);
}

TEST(EngineMagnitudes, LargeButSafeQueriesAreAcceptedAndGiveFiniteResults) {
  // |q| = 1e19 with ordinary keys: logits ~1e19 are finite, softmax is one-hot.
  const auto src = pair_source([](LayerTensors& x) {
    for (int c = 0; c < kD; ++c) x.q(0, 45, c) = 1e19f;
  });
  const SweepResult r = run_sweep(src, spec_for("knorm,snapkv:window=8,h2o,laprox:window=8", "0.25", 8));
  EXPECT_TRUE(r.skipped.empty());
  expect_all_finite(r);
}

// Scaling v and o_proj by powers of two changes no result: metrics are ratios
// and laprox ranks by scores that scale uniformly. 2^64 and 2^100 overflow
// float32 in the o_proj Gram terms, P.V and y = W_o o when computed naively.
TEST(EngineMagnitudes, ValuesAndOutputProjectionScaledByPowersOfTwoGiveIdenticalResults) {
  const auto src = pair_source([](LayerTensors& x) {
    for (auto& v : x.v) v = std::ldexp(v, 100);
    for (auto& w : *x.o_proj) w = std::ldexp(w, 64);
  });
  const SweepResult r = run_sweep(src, spec_for("full,knorm,laprox:window=8,laprox:window=8,mode=model,h2o", "0.25,0.5", 8));
  expect_all_finite(r);
  for (std::size_t i = 0; i < r.items.size(); ++i)
    EXPECT_EQ(r.kept[i][0], r.kept[i][1]) << r.items[i].policy_label << " at " << r.items[i].budget_tokens;
  std::map<std::tuple<int, int, int>, double> layer0;
  for (const auto& row : r.rows)
    if (row.layer == 0) layer0[{row.item, row.head, row.metric}] = row.value;
  int compared = 0;
  for (const auto& row : r.rows) {
    if (row.layer != 1) continue;
    EXPECT_DOUBLE_EQ(row.value, layer0.at({row.item, row.head, row.metric}))
        << r.items[row.item].policy_label << " head " << row.head << " " << metric_name(row.metric);
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

TEST(EngineMagnitudes, ValueNearFloatMaxGivesTheRealOutputErrorNotZero) {
  // v of context token 5 (KV head 0) is 3e38: it dominates o_t of heads 0 and 1;
  // o_proj is scaled by 2^20, so y = W_o o is far beyond float32.
  // streamingllm:n_sink=4 at N=8 keeps 0-3 and 36-39, so token 5 is evicted and
  // the output error is large (the naive y = W_o o overflowed to inf, making
  // ||y - ŷ|| / ||y|| exactly 0).
  const auto src = pair_source([](LayerTensors& x) {
    for (int c = 0; c < kD; ++c) x.v(0, 5, c) = 3e38f;
    for (auto& w : *x.o_proj) w = std::ldexp(w, 20);
  });
  const SweepResult r = run_sweep(src, spec_for("streamingllm,full", "8", 0));
  expect_all_finite(r);
  ASSERT_EQ(r.kept[0][1][0], (std::vector<int>{0, 1, 2, 3, 36, 37, 38, 39}));
  for (const auto& row : r.rows) {
    if (row.layer != 1) continue;
    if (r.items[row.item].policy_label == "full") {
      if (row.metric == kHeadOutErr || row.metric == kLayerOutErr) EXPECT_EQ(row.value, 0.0);
      continue;
    }
    if (row.metric == kLayerOutErr) EXPECT_GT(row.value, 0.5);
    if (row.metric == kHeadOutErr && (row.head == 0 || row.head == 1)) EXPECT_GT(row.value, 0.5);
  }
}

}  // namespace
}  // namespace kvsim
