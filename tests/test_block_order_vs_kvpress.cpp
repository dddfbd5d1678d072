// Where kvsim's replay differs from kvpress on the same tensors (docs/POLICIES.md,
// "kvsim and kvpress"): one test per difference, each pinning kvsim's behaviour on
// a hand-computed case where kvpress's would differ. kvpress's BlockPress keeps
// its cache in score order (block_press.py: `cat([kept_indices, block])` with
// kept_indices from topk); kvsim keeps candidates in position order.
#include <gtest/gtest.h>

#include <cmath>

#include "sim/engine/budget.hpp"
#include "sim/engine/replay.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {
using test::set_vec;

KeptSet replay(const std::string& spec, const LayerTensors& x, const LayerGeom& geom, int N, int block) {
  LayerShared shared;
  auto p = make_policy(parse_policy_spec(spec));
  p->prepare_layer(x, geom, shared);
  ReplayOptions o;
  o.block = block;
  return replay_layer(*p, x, geom, 0, N, o, shared);
}

// kvpress's StreamingLLMPress under BlockPress marks the first n_sink entries of
// the score-ordered candidate list as sinks and zeroes the next
// k' - int(k'(1 - ratio)) entries (k' = cache + block, more than the block), so
// more tokens score 0 than must go and the kept set depends on torch.topk's
// order among tied scores: the sinks stay only while topk lists them first
// among the tied 1s, the rest is the most recent only if ties go to the later
// token. kvsim's sinks are positions [0, n_sink) at every step, the rest is
// the most recent, as one-shot (where kvpress agrees when N >= n_sink).
TEST(KvpressDifferences, StreamingLlmInBlockModeKeepsItsSinksAndTheMostRecent) {
  const LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 2, 17, 16, 2, 1.0), 16);
  const LayerTensors x = test::zero_layer(1, 1, 2, 17);
  const KeptSet sinks_and_recent = {{0, 1, 12, 13, 14, 15}};
  EXPECT_EQ(replay("streamingllm:n_sink=2", x, geom, 6, 4), sinks_and_recent);
  EXPECT_EQ(replay("streamingllm:n_sink=2", x, geom, 6, 3), sinks_and_recent);  // last block partial
  EXPECT_EQ(replay("streamingllm:n_sink=2", x, geom, 6, 0), sinks_and_recent);  // one-shot: as kvpress
}

// SnapKV in block mode (N = 4, B = 1, window = 1, kernel = 3; H = G = 1, d = 2,
// scale 1). Keys k0 = (ln2, 0), k2 = (ln4, 0), k4 = (0, ln6), the others 0;
// query 4 = (1, 0), query 5 = (0, 1): attention is proportional to e^x resp. e^y.
//
// Step 1, candidates {0..4}, window query 4: attention [2, 1, 4, 1 | 1] / 9,
//   pooled over {0, 1, 2, 3} (zero padding counted): [3, 7, 6, 5] / 27; 4 protected
//   -> cache {1, 2, 3, 4}; kvpress's list in score order: [4, 1, 2, 3].
// Step 2, block {5}, window query 5: attention to {1, 2, 3, 4} = [1, 1, 1, 6] / 10.
//   kvsim pools in position order [1, 2, 3, 4]: [2, 3, 8, 7] / 30 -> drops 1 -> {2, 3, 4, 5}.
//   kvpress pools its list [4, 1, 2, 3]: [7, 8, 3, 2] / 30 -> drops 3 -> {1, 2, 4, 5}.
TEST(KvpressDifferences, SnapKvPoolsOverPositionOrderedCandidatesInBlockMode) {
  const LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 2, 7, 6, 2, 1.0), 6);
  LayerTensors x = test::zero_layer(1, 1, 2, 7);
  set_vec(x.k, 0, 0, {std::log(2.0), 0});
  set_vec(x.k, 0, 2, {std::log(4.0), 0});
  set_vec(x.k, 0, 4, {0, std::log(6.0)});
  set_vec(x.q, 0, 4, {1, 0});
  set_vec(x.q, 0, 5, {0, 1});

  LayerShared shared;
  auto p = make_policy(parse_policy_spec("snapkv:window=1,kernel=3"));
  const KeptSet step1 = {{0, 1, 2, 3, 4}};
  StepContext ctx1{x, geom, shared, 0, 4, 5, step1, 4, GqaReduce::mean, 0};
  Scores s;
  p->score(ctx1, s);
  const std::vector<double> want1 = {3.0 / 27, 7.0 / 27, 6.0 / 27, 5.0 / 27, 7.0 / 27 + 1};
  for (std::size_t i = 0; i < want1.size(); ++i) EXPECT_NEAR(s[0][i], want1[i], 1e-6) << "step 1, index " << i;

  const KeptSet step2 = {{1, 2, 3, 4, 5}};
  StepContext ctx2{x, geom, shared, 0, 5, 6, step2, 4, GqaReduce::mean, 0};
  p->score(ctx2, s);
  const std::vector<double> want2 = {2.0 / 30, 3.0 / 30, 8.0 / 30, 7.0 / 30, 8.0 / 30 + 1};
  for (std::size_t i = 0; i < want2.size(); ++i) EXPECT_NEAR(s[0][i], want2[i], 1e-6) << "step 2, index " << i;

  EXPECT_EQ(replay("snapkv:window=1,kernel=3", x, geom, 4, 1), KeptSet({{2, 3, 4, 5}}));
}

// kvpress keeps int(C * (1 - compression_ratio)) tokens, computed in binary
// floating point: compression_ratio = 0.8 on C = 10 keeps int(1.9999999999999996)
// = 1. kvsim's ratio is the kept fraction b, N = floor(b * C) of the decimal
// value: --budget 0.2 keeps 2; the token count reproduces kvpress exactly.
TEST(KvpressDifferences, BudgetRatioIsTheDecimalKeptFraction) {
  EXPECT_EQ(BudgetSpec::parse("0.2").tokens(10), 2);
  EXPECT_EQ(BudgetSpec::parse("0.2").tokens(1000), 200);  // kvpress, ratio 0.8: 199
  EXPECT_EQ(BudgetSpec::parse("0.1").tokens(10), 1);      // kvpress, ratio 0.9: 0
  EXPECT_EQ(BudgetSpec::parse("199").tokens(1000), 199);
}

}  // namespace
}  // namespace kvsim
