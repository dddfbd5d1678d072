// Hand-computed tiny cases (d = 2, a handful of tokens) for every policy's scores
// and kept sets, GQA (2 query heads per KV head), block processing, protections,
// pooled selection and the metrics. The expected numbers were worked out by hand
// (see the comments); none comes from running the engine.
#include <gtest/gtest.h>

#include <cmath>

#include "io/errors.hpp"
#include "policies/kernels/future_attention.hpp"
#include "policies/kernels/selection.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/replay.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {
using test::set_vec;

// One KV head, two query heads (r = 2), d = 2, T = 5, C = 4, scale 1.
//   keys: k0 = (0,0), k1 = (ln2, 0), k2 = (0, ln3), k3 = (0,0), k4 = (0,0)
//   head 0 queries: q1 = (1,0), q2 = (0,1), q3 = (1,0), q4 = (1,0)
//   head 1 queries: q1 = (0,1), q2 = (1,0), q3 = (0,1), q4 = (0,1)
// so every attention row is a ratio of small integers:
//   head 0: t=1 [1,2]/3, t=2 [1,1,3]/5, t=3 [1,2,1,1]/5, t=4 [1,2,1,1,1]/6
//   head 1: t=1 [1,1]/2, t=2 [1,2,1]/4, t=3 [1,1,3,1]/6, t=4 [1,1,3,1,1]/7
struct Tiny {
  LayerGeom geom;
  LayerTensors x;
  LayerShared shared;
  Tiny() {
    geom = LayerGeom::from(test::tiny_attrs(1, 2, 1, 2, 5, 4, 2, 1.0), 4);
    x = test::zero_layer(2, 1, 2, 5);
    set_vec(x.k, 0, 1, {std::log(2.0), 0});
    set_vec(x.k, 0, 2, {0, std::log(3.0)});
    const double e0[] = {1, 0}, e1[] = {0, 1};
    const int h0[] = {-1, 0, 1, 0, 0}, h1[] = {-1, 1, 0, 1, 1};  // 0 -> e0, 1 -> e1
    for (int t = 1; t < 5; ++t) {
      set_vec(x.q, 0, t, {h0[t] == 0 ? e0[0] : e1[0], h0[t] == 0 ? e0[1] : e1[1]});
      set_vec(x.q, 1, t, {h1[t] == 0 ? e0[0] : e1[0], h1[t] == 0 ? e0[1] : e1[1]});
    }
    // values and an o_proj W = [I2 | 2 I2]
    set_vec(x.v, 0, 0, {1, 0});
    set_vec(x.v, 0, 1, {0, 2});
    set_vec(x.v, 0, 2, {1, 1});
    set_vec(x.v, 0, 3, {3, 4});
    set_vec(x.v, 0, 4, {1, 0});
    Matrix w = Matrix::from_shape({2, 4});
    w.fill(0.f);
    w(0, 0) = 1;
    w(1, 1) = 1;
    w(0, 2) = 2;
    w(1, 3) = 2;
    x.o_proj = w;
  }
  std::vector<double> scores(const std::string& spec, const KeptSet& cand, int bb, int be,
                             GqaReduce gqa = GqaReduce::mean) {
    auto p = make_policy(parse_policy_spec(spec));
    p->prepare_layer(x, geom, shared);
    StepContext ctx{x, geom, shared, 0, bb, be, cand, 2, gqa, 0};
    p->begin_layer(ctx);
    Scores s;
    p->score(ctx, s);
    return s.at(0);
  }
  KeptSet replay(const std::string& spec, int N, int block, int sinks = 0, int recent = 0) {
    auto p = make_policy(parse_policy_spec(spec));
    p->prepare_layer(x, geom, shared);
    ReplayOptions o;
    o.block = block;
    o.sinks = sinks;
    o.recent = recent;
    return replay_layer(*p, x, geom, 0, N, o, shared);
  }
};

const KeptSet kAll4 = {{0, 1, 2, 3}};

void expect_scores(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

TEST(HandComputed, Knorm) {
  Tiny t;
  // norms 0, ln2, ln3, 0 -> scores -0, -0.693147, -1.098612, -0 ; ties -> later position
  expect_scores(t.scores("knorm", kAll4, 0, 4), {0, -0.693147, -1.098612, 0});
  EXPECT_EQ(t.replay("knorm", 2, 0), KeptSet({{0, 3}}));
  EXPECT_EQ(t.replay("knorm", 3, 0), KeptSet({{0, 1, 3}}));
}

TEST(HandComputed, KeyDiff) {
  Tiny t;
  // Replace keys: k0=(1,0), k1=(2,0), k2=(0,1), k3=(1,1).
  set_vec(t.x.k, 0, 0, {1, 0});
  set_vec(t.x.k, 0, 1, {2, 0});
  set_vec(t.x.k, 0, 2, {0, 1});
  set_vec(t.x.k, 0, 3, {1, 1});
  // a = mean k/|k| = (0.676777, 0.426777), |a| = 0.800104
  // cos: 0.845862, 0.845862, 0.533402, 0.975286
  expect_scores(t.scores("keydiff", kAll4, 0, 4), {-0.845862, -0.845862, -0.533402, -0.975286});
  // top 2: k2, then the k0/k1 tie -> later position k1
  EXPECT_EQ(t.replay("keydiff", 2, 0), KeptSet({{1, 2}}));
}

TEST(HandComputed, StreamingLLM) {
  Tiny t;
  EXPECT_EQ(t.replay("streamingllm:n_sink=1", 2, 0), KeptSet({{0, 3}}));
  EXPECT_EQ(t.replay("streamingllm:n_sink=0", 2, 0), KeptSet({{2, 3}}));
  EXPECT_EQ(t.replay("streamingllm", 2, 1), KeptSet({{0, 1}}));  // n_sink=4 >= N
}

TEST(HandComputed, SnapKVWithGqaMeanMaxAndPooling) {
  Tiny t;
  // window = 1: query 3. head 0 [.2,.4,.2 | .2], head 1 [1/6,1/6,1/2 | 1/6]
  // mean over the group: [.183333, .283333, .35], window key 3 -> max+1 = 1.35
  expect_scores(t.scores("snapkv:window=1,kernel=1", kAll4, 0, 4), {0.183333, 0.283333, 0.35, 1.35});
  expect_scores(t.scores("snapkv:window=1,kernel=1", kAll4, 0, 4, GqaReduce::max), {0.2, 0.4, 0.5, 1.5});
  // kernel 3, zero padding counted: head 0 [.2,.266667,.2], head 1 [.111111,.277778,.222222]
  expect_scores(t.scores("snapkv:window=1,kernel=3", kAll4, 0, 4), {0.155556, 0.272222, 0.211111, 1.272222});
  EXPECT_EQ(t.replay("snapkv:window=1,kernel=3", 2, 0), KeptSet({{1, 3}}));
  EXPECT_EQ(t.replay("snapkv:window=1,kernel=1", 2, 0), KeptSet({{2, 3}}));
  // window = 2 (queries 2 and 3; window keys 2, 3 protected):
  // head 0: q2 [.2,.2 | .6], q3 [.2,.4 | .2,.2] -> mean [.2, .3]; head 1: q2 [.25,.5 | .25], q3 [1/6,1/6 | ..] -> [.208333, .333333]
  expect_scores(t.scores("snapkv:window=2,kernel=1", kAll4, 0, 4), {0.204167, 0.316667, 1.316667, 1.316667});
}

TEST(HandComputed, Tova) {
  Tiny t;
  // last query 3, mean over ALL heads: [.183333, .283333, .35, .183333]; last token protected
  expect_scores(t.scores("tova", kAll4, 0, 4), {0.183333, 0.283333, 0.35, 1.35});
  EXPECT_EQ(t.replay("tova", 2, 0), KeptSet({{2, 3}}));
}

TEST(HandComputed, TovaSharesOneSetAcrossKvHeads) {
  // G = 2, r = 1: head 0 prefers token 1, head 1 prefers token 2, both equally.
  LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 2, 2, 2, 5, 4, 2, 1.0), 4);
  LayerTensors x = test::zero_layer(2, 2, 2, 5);
  set_vec(x.k, 0, 1, {std::log(4.0), 0});
  set_vec(x.k, 1, 2, {std::log(3.0), 0});
  set_vec(x.q, 0, 3, {1, 0});
  set_vec(x.q, 1, 3, {1, 0});
  // head 0: [1,4,1,1]/7, head 1: [1,1,3,1]/6 ; mean: [.154762, .369048, .321429, .154762(prot)]
  LayerShared shared;
  auto p = make_policy(parse_policy_spec("tova"));
  const KeptSet cand = {{0, 1, 2, 3}, {0, 1, 2, 3}};
  StepContext ctx{x, geom, shared, 0, 0, 4, cand, 2, GqaReduce::mean, 0};
  Scores s;
  p->score(ctx, s);
  expect_scores(s[0], {0.154762, 0.369048, 0.321429, 1.369048});
  EXPECT_EQ(s[0], s[1]);
  ReplayOptions o;
  o.block = 0;
  EXPECT_EQ(replay_layer(*p, x, geom, 0, 2, o, shared), KeptSet({{1, 3}, {1, 3}}));
}

TEST(HandComputed, H2OOneShot) {
  Tiny t;
  // received attention / number of queries that saw the token, group mean:
  // head 0 [.433333, .422222, .4, .2], head 1 [.479167, .388889, .375, .166667]
  expect_scores(t.scores("h2o", kAll4, 0, 4), {0.45625, 0.405556, 0.3875, 0.183333});
  EXPECT_EQ(t.replay("h2o", 2, 0), KeptSet({{0, 1}}));
}

TEST(HandComputed, H2OBlockAccumulatesOverCandidatesOnly) {
  Tiny t;
  auto p = make_policy(parse_policy_spec("h2o"));
  KeptSet fill = {{0, 1}};
  StepContext c0{t.x, t.geom, t.shared, 0, 0, 2, fill, 2, GqaReduce::mean, 0};
  p->begin_layer(c0);
  Scores s;
  p->score(c0, s);  // initial fill: queries 0, 1
  KeptSet c1 = {{0, 1, 2}};
  StepContext ctx1{t.x, t.geom, t.shared, 0, 2, 3, c1, 2, GqaReduce::mean, 0};
  p->score(ctx1, s);
  // head 0 [.511111, .433333, .6], head 1 [.583333, .5, .25]
  expect_scores(s[0], {0.547222, 0.466667, 0.425});
  // token 2 evicted; query 3 attends over {0, 1, 3} only: head 0 [1,2,1]/4, head 1 [1,1,1]/3
  KeptSet c2 = {{0, 1, 3}};
  StepContext ctx2{t.x, t.geom, t.shared, 0, 3, 4, c2, 2, GqaReduce::mean, 0};
  p->score(ctx2, s);
  // head 0 [1.783333/4, 1.366667/3, .25], head 1 [2.083333/4, 1.333333/3, .333333]
  expect_scores(s[0], {0.483333, 0.45, 0.291667});
  // and the engine's block loop (B = 1, N = 2) reaches the same set
  EXPECT_EQ(t.replay("h2o", 2, 1), KeptSet({{0, 1}}));
}

TEST(HandComputed, LaproxOutputAwareScores) {
  Tiny t;
  // window 1 (query 3): a0 = [.2,.4,.2,.2], a1 = [1/6,1/6,1/2,1/6]; W = [I | 2I]
  // iota_j = |a0_j + 2 a1_j| * |v_j|, |v| = 1, 2, sqrt2, 5
  expect_scores(t.scores("laprox:window=1", kAll4, 0, 4), {0.533333, 1.466667, 1.697056, 2.666667});
  EXPECT_EQ(t.replay("laprox:window=1", 2, 0), KeptSet({{2, 3}}));
}

TEST(HandComputed, LaproxWithoutOprojFails) {
  Tiny t;
  t.x.o_proj.reset();
  auto p = make_policy(parse_policy_spec("laprox"));
  try {
    p->prepare_layer(t.x, t.geom, t.shared);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("o_proj"), std::string::npos);
  }
}

TEST(HandComputed, OracleAndMetrics) {
  Tiny t;
  const FutureAttention fa = compute_future_attention(t.x, t.geom);
  LayerShared shared;
  shared.future = &fa;
  // future query 4: head 0 [1,2,1,1 | 1]/6, head 1 [1,1,3,1 | 1]/7 -> group mean
  auto p = make_policy(parse_policy_spec("oracle"));
  StepContext ctx{t.x, t.geom, shared, 0, 0, 4, kAll4, 2, GqaReduce::mean, 0};
  Scores s;
  p->score(ctx, s);
  expect_scores(s[0], {0.154762, 0.238095, 0.297619, 0.154762});
  ReplayOptions o;
  o.block = 0;
  const KeptSet kept = replay_layer(*p, t.x, t.geom, 0, 2, o, shared);
  ASSERT_EQ(kept, KeptSet({{1, 2}}));
  const TopNSets topn = compute_topn(fa, t.x, 2);
  const LayerMetrics m = compute_metrics(fa, t.x, kept, &topn);
  // M1: head 0 (2+1+1)/6, head 1 (1+3+1)/7
  EXPECT_NEAR(m.attn_recall[0], 4.0 / 6, 1e-6);
  EXPECT_NEAR(m.attn_recall[1], 5.0 / 7, 1e-6);
  // M2: head 0 top-2 = {1, 3} (tie 0/2/3 -> later), head 1 = {2, 3}: overlap 1 of 2 each
  EXPECT_DOUBLE_EQ(m.topk_recall[0], 0.5);
  EXPECT_DOUBLE_EQ(m.topk_recall[1], 0.5);
  // M4 head 0: o = (6,9)/6 = (1, 1.5), ô = (2 v1 + v2 + v4)/4 = (.5, 1.25)
  EXPECT_NEAR(m.head_out_err[0], std::sqrt(0.25 + 0.0625) / std::sqrt(1 + 2.25), 1e-6);
  // M4 head 1: o = (v0+v1+3v2+v3+v4)/7 = (8,9)/7, ô = (v1 + 3 v2 + v4)/5 = (4,5)/5
  const double e0 = 8.0 / 7 - 0.8, e1 = 9.0 / 7 - 1.0;
  EXPECT_NEAR(m.head_out_err[1], std::hypot(e0, e1) / std::hypot(8.0 / 7, 9.0 / 7), 1e-6);
  // M5: y = o_0 + 2 o_1 (W = [I | 2I]) and likewise ŷ
  ASSERT_TRUE(m.has_layer_err);
  const double y0 = 1 + 2 * 8.0 / 7, y1 = 1.5 + 2 * 9.0 / 7;
  const double yh0 = 0.5 + 2 * 0.8, yh1 = 1.25 + 2 * 1.0;
  EXPECT_NEAR(m.layer_out_err, std::hypot(y0 - yh0, y1 - yh1) / std::hypot(y0, y1), 1e-6);
  EXPECT_DOUBLE_EQ(m.kept_fraction[0], 0.5);
}

// One KV head and one query head (d = 2, scale 1) over T tokens, C = T - 1, for
// the query-free policies (lagkv, cur) that read only keys and values.
struct KeysValues {
  LayerGeom geom;
  LayerTensors x;
  LayerShared shared;
  explicit KeysValues(int T) {
    geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 2, T, T - 1, 2, 1.0), T - 1);
    x = test::zero_layer(1, 1, 2, T);
  }
  std::vector<double> scores(const std::string& spec, const std::vector<int>& cand) {
    auto p = make_policy(parse_policy_spec(spec));
    const KeptSet c = {cand};
    StepContext ctx{x, geom, shared, 0, 0, cand.back() + 1, c, 2, GqaReduce::mean, 0};
    Scores s;
    p->score(ctx, s);
    return s.at(0);
  }
  KeptSet replay(const std::string& spec, int N) {
    auto p = make_policy(parse_policy_spec(spec));
    ReplayOptions o;
    o.block = 0;
    return replay_layer(*p, x, geom, 0, N, o, shared);
  }
};

// lagkv:n_sink=1,lag_size=2 over C = 7: sink {0}, partitions {1,2} (reference
// {3,4}), {3,4} (reference {5,6}), tail {5,6}. With d = 2 the unbiased std of a
// normalised pair (a, b) is |a - b| / sqrt2.
//   {1,2} keys over k3 = (0,0), k4 = (1,1): k1 = (1,0) -> std .707107, k2 = (.5,.5) -> 0;
//     softmax [.669761, .330239]. values over v3 = (0,0), v4 = (2,2): v1 = 0 -> 0,
//     v2 = (1,0) -> (.5,0) -> .353553; softmax [.412520, .587480].
//     mean: [.541140, .458860] -> ranks 1, 0 -> scores .5, 0
//   {3,4} keys over k5 = (0,0), k6 = (2,4): k3 -> 0, k4 = (1,1) -> (.5,.25) -> .176777;
//     softmax [.455920, .544080]. values over v5 = 0, v6 = (1,1): v3 = 0, v4 = (2,2) -> both 0;
//     softmax [.5, .5]. mean: [.477960, .522040] -> scores 0, .5
KeysValues lagkv_case() {
  KeysValues t(8);
  set_vec(t.x.k, 0, 1, {1, 0});
  set_vec(t.x.k, 0, 2, {0.5, 0.5});
  set_vec(t.x.k, 0, 4, {1, 1});
  set_vec(t.x.k, 0, 6, {2, 4});
  set_vec(t.x.v, 0, 2, {1, 0});
  set_vec(t.x.v, 0, 4, {2, 2});
  set_vec(t.x.v, 0, 6, {1, 1});
  return t;
}

TEST(HandComputed, LagKV) {
  KeysValues t = lagkv_case();
  const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6};
  expect_scores(t.scores("lagkv:n_sink=1,lag_size=2", all), {1, 0.5, 0, 0, 0.5, 1, 1});
  // ties at .5 (tokens 1 and 4) -> the later position
  EXPECT_EQ(t.replay("lagkv:n_sink=1,lag_size=2", 4), KeptSet({{0, 4, 5, 6}}));
  EXPECT_EQ(t.replay("lagkv:n_sink=1,lag_size=2", 5), KeptSet({{0, 1, 4, 5, 6}}));
  // cross_scoring: the softmax means themselves, comparable across partitions
  expect_scores(t.scores("lagkv:n_sink=1,lag_size=2,cross_scoring=1", all),
                {1, 0.541140, 0.458860, 0.477960, 0.522040, 1, 1});
  EXPECT_EQ(t.replay("lagkv:n_sink=1,lag_size=2,cross_scoring=1", 4), KeptSet({{0, 1, 5, 6}}));
  // fewer than n_sink + 2 lag_size candidates: sinks 1, then (i - n_sink) / (n - n_sink)
  expect_scores(t.scores("lagkv:n_sink=1,lag_size=2", {0, 1, 2, 3}), {1, 0, 1.0 / 3, 2.0 / 3});
}

// A reference channel with max = min counts as 0 (kvpress: 0/0 = nan): with
// k6 = (2, 0), key channel 1 is 0 at both reference tokens 5, 6, so k4 = (1, 1)
// normalises to (.5, 0) -> std .353553; keys of {3, 4}: softmax [.412520, .587480],
// values [.5, .5] -> [.456260, .543740].
TEST(HandComputed, LagKVConstantReferenceChannelCountsAsZero) {
  KeysValues t = lagkv_case();
  set_vec(t.x.k, 0, 6, {2, 0});
  expect_scores(t.scores("lagkv:n_sink=1,lag_size=2,cross_scoring=1", {0, 1, 2, 3, 4, 5, 6}),
                {1, 0.541140, 0.458860, 0.456260, 0.543740, 1, 1});
}

// cur:num_sinks=1,local_window_size=2 over C = 5, windows {0,1}, {2,3}, {4}:
//   ||k||^2 = [1, 2, 1, 9, 4] -> per window [1/3, 2/3, .1, .9, 1]
//   ||v||^2 = [1, 1, 4, 2, 1] -> per window [.5, .5, 2/3, 1/3, 1]
//   kv_product [1/6, 1/3, 1/15, 3/10, 1], sum 56/30 -> [5, 10, 2, 9, 30] / 56; sink -> 1
//   key [1/3, 2/3, .1, .9, 1] / 3; without the local approximation, kv_product
//   [1, 2, 4, 18, 4] / 29.
KeysValues cur_case() {
  KeysValues t(6);
  const std::vector<std::vector<double>> k = {{1, 0}, {1, 1}, {0, 1}, {0, 3}, {2, 0}};
  const std::vector<std::vector<double>> v = {{1, 0}, {1, 0}, {2, 0}, {1, 1}, {0, 1}};
  for (int j = 0; j < 5; ++j) {
    set_vec(t.x.k, 0, j, {k[j][0], k[j][1]});
    set_vec(t.x.v, 0, j, {v[j][0], v[j][1]});
  }
  return t;
}

TEST(HandComputed, Cur) {
  KeysValues t = cur_case();
  const std::vector<int> all = {0, 1, 2, 3, 4};
  expect_scores(t.scores("cur:num_sinks=1,local_window_size=2", all),
                {1, 10.0 / 56, 2.0 / 56, 9.0 / 56, 30.0 / 56});
  EXPECT_EQ(t.replay("cur:num_sinks=1,local_window_size=2", 3), KeptSet({{0, 1, 4}}));
  expect_scores(t.scores("cur:num_sinks=1,local_window_size=2,leverage_type=key", all),
                {1, 2.0 / 9, 0.1 / 3, 0.3, 1.0 / 3});
  EXPECT_EQ(t.replay("cur:num_sinks=1,local_window_size=2,leverage_type=key", 3), KeptSet({{0, 3, 4}}));
  expect_scores(t.scores("cur:num_sinks=1,use_local_approximation=0", all), {1, 2.0 / 29, 4.0 / 29, 18.0 / 29, 4.0 / 29});
  // tokens 2 and 4 tie at 4/29 -> the later position
  EXPECT_EQ(t.replay("cur:num_sinks=1,use_local_approximation=0", 3), KeptSet({{0, 3, 4}}));
  EXPECT_THROW(parse_policy_spec("cur:leverage_type=both"), UsageError);
}

// A window (or a whole head) whose norms are all 0 gives 0 (kvpress: 0/0 = nan):
// k0 = k1 = 0 -> key window {0, 1} = [0, 0]; kv_product [0, 0, 1/15, 3/10, 1],
// sum 41/30 -> [0, 0, 2, 9, 30] / 41; sink -> 1.
TEST(HandComputed, CurAllZeroWindowScoresZero) {
  KeysValues t = cur_case();
  set_vec(t.x.k, 0, 0, {0, 0});
  set_vec(t.x.k, 0, 1, {0, 0});
  expect_scores(t.scores("cur:num_sinks=1,local_window_size=2", {0, 1, 2, 3, 4}),
                {1, 0, 2.0 / 41, 9.0 / 41, 30.0 / 41});
  t.x.k.fill(0.f);
  expect_scores(t.scores("cur:num_sinks=1,local_window_size=2", {0, 1, 2, 3, 4}), {1, 0, 0, 0, 0});
}

TEST(HandComputed, RandomIsSeededAndUniform) {
  Tiny t;
  const auto a = t.scores("random", kAll4, 0, 4);
  EXPECT_EQ(a, t.scores("random", kAll4, 0, 4));
  for (double v : a) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
  // different seeds give different scores
  auto p = make_policy(parse_policy_spec("random"));
  StepContext ctx{t.x, t.geom, t.shared, 0, 0, 4, kAll4, 2, GqaReduce::mean, 7};
  Scores s;
  p->score(ctx, s);
  EXPECT_NE(s[0], a);
  EXPECT_EQ(t.replay("random", 2, 0).at(0).size(), 2u);
}

TEST(HandComputed, Protections) {
  Tiny t;
  // knorm alone keeps {0, 3}; with --recent 2 (one-shot: last processed = 2, 3) -> {2, 3}
  EXPECT_EQ(t.replay("knorm", 2, 0, 0, 2), KeptSet({{2, 3}}));
  // knorm with key 0 made long (norm 5): alone {1, 3}; --sinks 1 forces token 0 -> {0, 3}
  set_vec(t.x.k, 0, 0, {5, 0});
  EXPECT_EQ(t.replay("knorm", 2, 0), KeptSet({{1, 3}}));
  EXPECT_EQ(t.replay("knorm", 2, 0, 1, 0), KeptSet({{0, 3}}));
  // block mode, B = 1, --recent 1: at the last step (candidates {.., 3}) token 3 is protected
  EXPECT_EQ(t.replay("knorm", 2, 1, 0, 1), KeptSet({{1, 3}}));
}

TEST(HandComputed, BlockProcessingSeesOnlyCandidates) {
  // knorm, N = 1, B = 1 over norms [0, ln2, ln3, 0]: each step keeps the lower norm.
  Tiny t;
  EXPECT_EQ(t.replay("knorm", 1, 1), KeptSet({{3}}));
  // snapkv window 1 in block mode: step [1,2): query 1 over {0,1}; step [2,3) etc.
  // With N = 3, B = 1: one step (block [3,4)), candidates {0,1,2,3}: same as one-shot.
  EXPECT_EQ(t.replay("snapkv:window=1,kernel=1", 3, 1), t.replay("snapkv:window=1,kernel=1", 3, 0));
}

TEST(HandComputed, SelectTopAndPooled) {
  // ties -> later position
  EXPECT_EQ(select_top({0, 1, 2, 3}, {1, 2, 2, 0}, 1), std::vector<int>({2}));
  EXPECT_EQ(select_top({0, 1, 2, 3}, {1, 2, 2, 0}, 2), std::vector<int>({1, 2}));
  // pooled: total 4, floor 1: head 0 scores 5,4,3,2 ; head 1 1,.5,.2,.1
  const KeptSet cand = {{0, 1, 2, 3}, {0, 1, 2, 3}};
  const Scores s = {{5, 4, 3, 2}, {1, 0.5, 0.2, 0.1}};
  EXPECT_EQ(select_pooled(cand, s, 4, 1), KeptSet({{0, 1, 2}, {0}}));
  EXPECT_EQ(select_pooled(cand, s, 4, 2), KeptSet({{0, 1}, {0, 1}}));
  EXPECT_EQ(select_pooled(cand, s, 4, 0), KeptSet({{0, 1, 2, 3}, {}}));
}

TEST(HandComputed, PolicySpecParsing) {
  EXPECT_EQ(parse_policy_spec("snapkv:window=32,kernel=7").params.get("kernel"), "7");
  EXPECT_EQ(parse_policy_spec("snapkv:window=32,kernel=7").label(), "snapkv:window=32,kernel=7");
  EXPECT_THROW(parse_policy_spec("snapkv:kernel=4"), UsageError);
  EXPECT_THROW(parse_policy_spec("snapkv:window=-1"), UsageError);
  EXPECT_THROW(parse_policy_spec("snapkv:nosuch=1"), UsageError);
  EXPECT_THROW(parse_policy_spec("laprox:mode=global"), UsageError);
  try {
    parse_policy_spec("nosuch");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("keydiff"), std::string::npos);
  }
  const auto list = parse_policy_list("knorm,snapkv:window=32,kernel=7,h2o");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].label(), "snapkv:window=32,kernel=7");
  std::size_t in_all = 0;
  for (const auto& p : policy_registry()) in_all += p.in_all;
  EXPECT_EQ(parse_policy_list("all").size(), in_all);
  // window larger than the context: rejected once the geometry is known
  Tiny t;
  EXPECT_THROW(make_policy(parse_policy_spec("snapkv:window=5"))->check(t.geom), UsageError);
}

TEST(HandComputed, Budgets) {
  EXPECT_EQ(BudgetSpec::parse("2048").tokens(8192), 2048);
  EXPECT_EQ(BudgetSpec::parse("0.25").tokens(1001), 250);
  EXPECT_TRUE(BudgetSpec::parse("1.0").ratio);
  EXPECT_THROW(BudgetSpec::parse("0"), UsageError);
  EXPECT_THROW(BudgetSpec::parse("-3"), UsageError);
  EXPECT_THROW(BudgetSpec::parse("1.5"), UsageError);
  EXPECT_THROW(BudgetSpec::parse("abc"), UsageError);
}

}  // namespace
}  // namespace kvsim
