// kvpress presses beyond the first ten: expected_attention and criticalkv.
// Hand-computed tiny cases (the expected numbers worked out on paper), a
// naive float64 reference of expected_attention's formula, and the two ways
// it gets its pre-RoPE queries (q_pre_rope, or q rotated back) agreeing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "io/errors.hpp"
#include "sim/engine/replay.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {

// Scores of `spec` one-shot over all C context candidates.
Scores oneshot(const std::string& spec, const LayerTensors& x, const LayerGeom& geom) {
  auto p = make_policy(parse_policy_spec(spec));
  LayerShared shared;
  p->prepare_layer(x, geom, shared);
  KeptSet cand(geom.G);
  for (int g = 0; g < geom.G; ++g)
    for (int j = 0; j < geom.C; ++j) cand[g].push_back(j);
  StepContext ctx{x, geom, shared, 0, 0, geom.C, cand, 1, GqaReduce::mean, 0};
  p->begin_layer(ctx);
  Scores s;
  p->score(ctx, s);
  return s;
}

// The kept set of `spec` at budget N (block 0 = one-shot).
KeptSet kept_by(const std::string& spec, const LayerTensors& x, const LayerGeom& geom, int N, int block = 0) {
  auto p = make_policy(parse_policy_spec(spec));
  LayerShared shared;
  p->prepare_layer(x, geom, shared);
  ReplayOptions o;
  o.block = block;
  return replay_layer(*p, x, geom, 0, N, o, shared);
}

// One head, d = 2, C = 3, T = 4; RoPE absent (q_pre_rope = q: angle 0).
LayerTensors plain_layer(const std::vector<std::vector<double>>& q, const std::vector<std::vector<double>>& k,
                         const std::vector<std::vector<double>>& v, LayerGeom& geom) {
  geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 2, 4, 3, 2, 1.0), 3);
  LayerTensors x = test::zero_layer(1, 1, 2, 4);
  for (int t = 0; t < 4; ++t) {
    test::set_vec(x.q, 0, t, {q[t][0], q[t][1]});
    test::set_vec(x.k, 0, t, {k[t][0], k[t][1]});
    test::set_vec(x.v, 0, t, {v[t][0], v[t][1]});
  }
  x.q_pre_rope = x.q;
  return x;
}

// Mean query (1, 0), keys (0,0), (sqrt2 ln2, 0), (sqrt2 ln4, 0): logits
// mu.k / sqrt(2) = 0, ln 2, ln 4 -> softmax 1/7, 2/7, 4/7. Value norms 7, 1, 1
// turn them into 1, 2/7, 4/7. With n_sink = 1 position 0 takes the largest
// other score. Covariance: queries (1,0), (-1,0), (0,0) give mu = 0,
// S = diag(2/3, 0), so k^T S k / (2d) = k_x^2 / 6: keys (0,0), (sqrt6, 0),
// (sqrt12, 0) -> logits 0, 1, 2.
TEST(Presses, ExpectedAttentionHandComputed) {
  const double a = std::sqrt(2.0) * std::log(2.0), b = std::sqrt(2.0) * std::log(4.0);
  LayerGeom g;
  LayerTensors x = plain_layer({{1, 0}, {1, 0}, {1, 0}, {1, 0}}, {{0, 0}, {a, 0}, {b, 0}, {0, 0}},
                               {{7, 0}, {0, 1}, {1, 0}, {0, 0}}, g);
  const std::string base = "expected_attention:n_future_positions=1,n_sink=0,use_covariance=0";
  Scores s = oneshot(base + ",use_vnorm=0", x, g);
  EXPECT_NEAR(s[0][0], 1.0 / 7, 1e-6);
  EXPECT_NEAR(s[0][1], 2.0 / 7, 1e-6);
  EXPECT_NEAR(s[0][2], 4.0 / 7, 1e-6);
  s = oneshot(base + ",use_vnorm=1", x, g);
  EXPECT_NEAR(s[0][0], 1.0, 1e-6);
  EXPECT_NEAR(s[0][1], 2.0 / 7, 1e-6);
  s = oneshot("expected_attention:n_future_positions=1,n_sink=1,use_covariance=0,use_vnorm=0", x, g);
  // without position 0: softmax over logits ln2, ln4 -> 1/3, 2/3; the sink takes the max
  EXPECT_NEAR(s[0][1], 1.0 / 3, 1e-6);
  EXPECT_NEAR(s[0][2], 2.0 / 3, 1e-6);
  EXPECT_NEAR(s[0][0], 2.0 / 3, 1e-6);
  x = plain_layer({{1, 0}, {-1, 0}, {0, 0}, {0, 0}}, {{0, 0}, {std::sqrt(6.0), 0}, {std::sqrt(12.0), 0}, {0, 0}},
                  {{1, 0}, {1, 0}, {1, 0}, {0, 0}}, g);
  s = oneshot("expected_attention:n_future_positions=1,n_sink=0,use_vnorm=0", x, g);
  const double z = 1 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR(s[0][0], 1 / z, 1e-6);
  EXPECT_NEAR(s[0][1], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(s[0][2], std::exp(2.0) / z, 1e-6);
}

// A random layer whose q is its q_pre_rope rotated with theta 10000 (split
// halves): the scores from q_pre_rope (rotation read off the data) equal the
// scores from q rotated back with the dump's rope_theta, and both equal a
// naive float64 evaluation of the formula.
TEST(Presses, ExpectedAttentionMatchesANaiveReferenceFromEitherQuerySource) {
  const int H = 4, G = 2, d = 8, T = 90, C = 70, r = H / G;
  LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, H, G, d, T, C, 8, 1.0), C);
  LayerTensors x = test::random_layer(H, G, d, T, 8, 11, false);
  Tensor3 pre = x.q;
  std::vector<double> omega(d / 2);
  for (int i = 0; i < d / 2; ++i) omega[i] = std::pow(10000.0, -2.0 * i / d);
  for (int h = 0; h < H; ++h)
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < d / 2; ++i) {
        const double c = std::cos(t * omega[i]), s = std::sin(t * omega[i]);
        const double u = pre(h, t, i), w = pre(h, t, i + d / 2);
        x.q(h, t, i) = static_cast<float>(u * c - w * s);
        x.q(h, t, i + d / 2) = static_cast<float>(u * s + w * c);
      }
  x.q_pre_rope = pre;
  const std::string spec = "expected_attention:n_future_positions=16,n_sink=2";
  const Scores with_pre = oneshot(spec, x, geom);
  LayerTensors no_pre = x;
  no_pre.q_pre_rope.reset();
  const Scores rotated_back = oneshot(spec, no_pre, geom);

  // naive reference, float64 throughout
  std::vector<std::vector<double>> ref(G, std::vector<double>(C, 0.0));
  for (int h = 0; h < H; ++h) {
    const int g = h / r;
    std::vector<double> mu(d, 0.0), S(d * d, 0.0);
    const int n = C - 2;
    for (int t = 2; t < C; ++t)
      for (int a = 0; a < d; ++a) mu[a] += double(pre(h, t, a)) / n;
    for (int t = 2; t < C; ++t)
      for (int a = 0; a < d; ++a)
        for (int b = 0; b < d; ++b) S[a * d + b] += (pre(h, t, a) - mu[a]) * (pre(h, t, b) - mu[b]) / n;
    // R: mean over p in [C, C + 16) of the rotation, as a d x d matrix
    std::vector<double> R(d * d, 0.0);
    for (int p = C; p < C + 16; ++p)
      for (int i = 0; i < d / 2; ++i) {
        const double c = std::cos(p * omega[i]) / 16, s = std::sin(p * omega[i]) / 16;
        R[i * d + i] += c;
        R[i * d + i + d / 2] -= s;
        R[(i + d / 2) * d + i] += s;
        R[(i + d / 2) * d + i + d / 2] += c;
      }
    std::vector<double> m2(d, 0.0), S2(d * d, 0.0), RS(d * d, 0.0);
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b) m2[a] += R[a * d + b] * mu[b];
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b)
        for (int c = 0; c < d; ++c) RS[a * d + b] += R[a * d + c] * S[c * d + b];
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b)
        for (int c = 0; c < d; ++c) S2[a * d + b] += RS[a * d + c] * R[b * d + c];
    std::vector<double> z(C, 0.0);
    double top = -1e300, total = 0;
    for (int j = 2; j < C; ++j) {
      double lin = 0, quad = 0;
      for (int a = 0; a < d; ++a) {
        lin += m2[a] * x.k(g, j, a);
        for (int b = 0; b < d; ++b) quad += x.k(g, j, a) * S2[a * d + b] * x.k(g, j, b);
      }
      z[j] = lin / std::sqrt(double(d)) + quad / d / 2;
      top = std::max(top, z[j]);
    }
    for (int j = 2; j < C; ++j) total += (z[j] = std::exp(z[j] - top));
    for (int j = 2; j < C; ++j) ref[g][j] += z[j] / total / r;
  }
  double top = 0;
  for (int g = 0; g < G; ++g)
    for (int j = 2; j < C; ++j) {
      double vn = 0;
      for (int a = 0; a < d; ++a) vn += double(x.v(g, j, a)) * x.v(g, j, a);
      ref[g][j] *= std::sqrt(vn);
      top = std::max(top, ref[g][j]);
    }
  for (int g = 0; g < G; ++g) ref[g][0] = ref[g][1] = top;
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < C; ++j) {
      EXPECT_NEAR(with_pre[g][j], ref[g][j], 1e-5 * top) << g << " " << j;
      EXPECT_NEAR(rotated_back[g][j], ref[g][j], 1e-5 * top) << g << " " << j;
    }
}

// The bundled real dump has q_pre_rope: the rotation read off it and the
// one assumed from its attributes (theta, split halves for a non-llama2.c
// source) give the same scores, so dumps without q_pre_rope (the corpus) are
// scored as they would be with it.
TEST(Presses, ExpectedAttentionOnTheBundledDumpAgreesWithAndWithoutQPreRope) {
  DumpReader dump(std::string(KVSIM_SOURCE_DIR) + "/data/tinystories656k-kite.h5");
  const LayerGeom geom = LayerGeom::from(dump.attrs(), *dump.attrs().context_len);
  LayerFields f;
  f.q_pre_rope = true;
  const LayerTensors x = dump.read_layer(1, f);
  ASSERT_TRUE(x.q_pre_rope);
  LayerTensors no_pre = x;
  no_pre.q_pre_rope.reset();
  const Scores a = oneshot("expected_attention", x, geom), b = oneshot("expected_attention", no_pre, geom);
  for (int g = 0; g < geom.G; ++g)
    for (int j = 0; j < geom.C; ++j) EXPECT_NEAR(a[g][j], b[g][j], 1e-4 * std::fabs(a[g][j]) + 1e-9) << g << " " << j;
}

// criticalkv(knorm), one KV head, d = 1, o_proj W = [1; -2] so
// ||W v||_1 = 3|v|. Keys 1, 2, 3, 4 -> knorm -1, -2, -3, -4; values 0.1, 10,
// 0.1, 0.1 -> u = 0.3, 30, 0.3, 0.3. N = 2, epsilon 0:
//   first_stage_ratio 0.5: stage 1 keeps position 0 (knorm's best); stage 2
//     scores -60, -0.9, -1.2 for positions 1, 2, 3 -> {0, 2};
//   ratio 0: all by stage 2: -0.3, -60, -0.9, -1.2 -> {0, 2};
//   ratio 1: stage 1 keeps knorm's best two: {0, 1}.
TEST(Presses, CriticalKvHandComputed) {
  LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 1, 5, 4, 2, 1.0), 4);
  LayerTensors x = test::zero_layer(1, 1, 1, 5);
  const double keys[] = {1, 2, 3, 4, 1}, values[] = {0.1, 10, 0.1, 0.1, 1};
  for (int t = 0; t < 5; ++t) {
    test::set_vec(x.k, 0, t, {keys[t]});
    test::set_vec(x.v, 0, t, {values[t]});
  }
  Matrix w = Matrix::from_shape({2, 1});
  w(0, 0) = 1;
  w(1, 0) = -2;
  x.o_proj = w;
  auto kept = [&](const std::string& spec) { return kept_by(spec, x, geom, 2); };
  EXPECT_EQ(kept("knorm"), KeptSet({{0, 1}}));
  EXPECT_EQ(kept("criticalkv(knorm):epsilon=0"), KeptSet({{0, 2}}));
  EXPECT_EQ(kept("criticalkv(knorm):epsilon=0,first_stage_ratio=0"), KeptSet({{0, 2}}));
  EXPECT_EQ(kept("criticalkv(knorm):epsilon=0,first_stage_ratio=1"), KeptSet({{0, 1}}));
  x.o_proj.reset();
  EXPECT_THROW(kept("criticalkv(knorm)"), InputError);
  EXPECT_TRUE(make_policy(parse_policy_spec("criticalkv"))->needs_o_proj());
}

// chunkkv(knorm), chunks of 4 over C = 10: [0,4), [4,8), [8,10). Key norms
// per KV head give chunk means of knorm's -|k|: head 0: -1, -5, -0.5;
// head 1: -10, 0, -10; summed: -11, -5, -10.5. N = 5 keeps max(1, 3*5/10)
// = 1 chunk, the second ({4..7}, for both heads); N = 7 keeps 2: the second
// and the last. Alone (one KV head, head 0's keys): the last chunk, then the
// first. C below one chunk: knorm's own top N.
TEST(Presses, ChunkKvHandComputed) {
  const int C = 10;
  LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 2, 2, 1, C + 1, C, 1, 1.0), C);
  LayerTensors x = test::zero_layer(2, 2, 1, C + 1);
  const double h0[] = {1, 1, 1, 1, 5, 5, 5, 5, 0.5, 0.5}, h1[] = {10, 10, 10, 10, 0, 0, 0, 0, 10, 10};
  for (int j = 0; j < C; ++j) {
    test::set_vec(x.k, 0, j, {h0[j]});
    test::set_vec(x.k, 1, j, {h1[j]});
  }
  auto kept = [&](const std::string& spec, int N, const LayerTensors& layer, const LayerGeom& g) {
    return kept_by(spec, layer, g, N);
  };
  EXPECT_EQ(kept("chunkkv(knorm):chunk_length=4", 5, x, geom), KeptSet({{4, 5, 6, 7}, {4, 5, 6, 7}}));
  EXPECT_EQ(kept("chunkkv(knorm):chunk_length=4", 7, x, geom),
            KeptSet({{4, 5, 6, 7, 8, 9}, {4, 5, 6, 7, 8, 9}}));
  LayerGeom one = LayerGeom::from(test::tiny_attrs(1, 1, 1, 1, C + 1, C, 1, 1.0), C);
  LayerTensors x1 = test::zero_layer(1, 1, 1, C + 1);
  for (int j = 0; j < C; ++j) test::set_vec(x1.k, 0, j, {h0[j]});
  EXPECT_EQ(kept("chunkkv(knorm):chunk_length=4", 7, x1, one), KeptSet({{0, 1, 2, 3, 8, 9}}));
  EXPECT_EQ(kept("chunkkv(knorm):chunk_length=20", 3, x1, one), kept("knorm", 3, x1, one));
  EXPECT_THROW(parse_policy_spec("chunkkv(laprox)"), UsageError);
  EXPECT_THROW(parse_policy_spec("adakv(chunkkv)"), UsageError);
}

// simlayerkv, one head, scale 1, C = 6: the last context query (t = 5, q = 1)
// sees key 0 = ln 8 and keys 1..5 = 0: attention 8/13 on token 0, 1/13 on each
// other. N = 2, n_initial = 1: a lazy layer would keep {0, 5}, which hold
// 9/13 = 0.692 of that attention: lazy at threshold 0.6 (keeps {0, 5}), not
// lazy at 0.7 (keeps the whole context).
TEST(Presses, SimLayerKvHandComputed) {
  LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, 1, 1, 1, 7, 6, 1, 1.0), 6);
  LayerTensors x = test::zero_layer(1, 1, 1, 7);
  test::set_vec(x.k, 0, 0, {std::log(8.0)});
  test::set_vec(x.q, 0, 5, {1});
  EXPECT_EQ(kept_by("simlayerkv:lazy_threshold=0.6,n_initial=1", x, geom, 2), KeptSet({{0, 5}}));
  EXPECT_EQ(kept_by("simlayerkv:lazy_threshold=0.7,n_initial=1", x, geom, 2), KeptSet({{0, 1, 2, 3, 4, 5}}));
  // block mode keeps the same streaming set
  EXPECT_EQ(kept_by("simlayerkv:lazy_threshold=0.6,n_initial=1", x, geom, 2, 2), KeptSet({{0, 5}}));
}

// Naive float64 references on a random layer, one-shot: criticalkv(knorm)
// (the L1 norms of W_o^h v_j by explicit loops, stage 1 by sorting) and
// chunkkv(knorm) (chunk means by explicit loops) keep the sets the policies keep.
TEST(Presses, CriticalKvAndChunkKvMatchNaiveReferencesOnARandomLayer) {
  const int H = 4, G = 2, r = 2, d = 8, T = 140, C = 120, D = 16, N = 30;
  const LayerGeom geom = LayerGeom::from(test::tiny_attrs(1, H, G, d, T, C, D, 0.35), C);
  const LayerTensors x = test::random_layer(H, G, d, T, D, 5);
  auto kept = [&](const std::string& spec) { return kept_by(spec, x, geom, N); };
  auto knorm = [&](int g, int j) {
    double s = 0;
    for (int c = 0; c < d; ++c) s += double(x.k(g, j, c)) * x.k(g, j, c);
    return -std::sqrt(s);
  };
  auto top = [&](std::vector<std::pair<double, int>> v, int n) {  // (score, position): ties -> later position
    std::sort(v.begin(), v.end(), [](auto a, auto b) { return a.first != b.first ? a.first > b.first : a.second > b.second; });
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(v[i].second);
    std::sort(out.begin(), out.end());
    return out;
  };
  KeptSet want(G);
  for (int g = 0; g < G; ++g) {
    std::vector<std::pair<double, int>> stage1, stage2;
    for (int j = 0; j < C; ++j) stage1.push_back({knorm(g, j), j});
    const std::vector<int> first = top(stage1, N / 2);
    for (int j = 0; j < C; ++j) {
      double u = 0;
      for (int hi = 0; hi < r; ++hi)
        for (int row = 0; row < D; ++row) {
          double y = 0;
          for (int c = 0; c < d; ++c) y += double((*x.o_proj)(row, (g * r + hi) * d + c)) * x.v(g, j, c);
          u += std::fabs(y) / r;
        }
      const bool in_first = std::count(first.begin(), first.end(), j) > 0;
      stage2.push_back({in_first ? 1e300 : (knorm(g, j) + 1e-4) * u, j});
    }
    want[g] = top(stage2, N);
  }
  EXPECT_EQ(kept("criticalkv(knorm)"), want);

  const int L = 7, chunks = (C + L - 1) / L, keep = std::max(1, chunks * N / C);
  std::vector<std::pair<double, int>> chunk_scores;
  for (int c = 0; c < chunks; ++c) {
    double sum = 0;
    const int n = std::min(C, (c + 1) * L) - c * L;
    for (int g = 0; g < G; ++g)
      for (int j = c * L; j < c * L + n; ++j) sum += knorm(g, j);
    chunk_scores.push_back({sum / n, c});
  }
  std::vector<int> positions;
  for (int c : top(chunk_scores, keep))
    for (int j = c * L; j < std::min(C, (c + 1) * L); ++j) positions.push_back(j);
  EXPECT_EQ(kept("chunkkv(knorm):chunk_length=7"), KeptSet(G, positions));
}

// finch, one head, scale 1, C = 3, question = position 3 (q = 1). The
// question query sees keys ln2, 0, ln4 (context) and 0 (itself): softmax
// 2:1:4:1 over 8 -> 0.25, 0.125, 0.5; it sees 4 keys, so normalize_scores
// multiplies by 3: 0.75, 0.375, 1.5. N = 1 keeps {2}, N = 2 keeps {0, 2}.
// The queries after the question (position 4) are never read.
TEST(Presses, FinchHandComputed) {
  DumpAttrs attrs = test::tiny_attrs(1, 1, 1, 1, 5, 3, 1, 1.0);
  attrs.question_len = 1;
  LayerGeom geom = LayerGeom::from(attrs, 3);
  LayerTensors x = test::zero_layer(1, 1, 1, 5);
  test::set_vec(x.k, 0, 0, {std::log(2.0)});
  test::set_vec(x.k, 0, 2, {std::log(4.0)});
  test::set_vec(x.q, 0, 3, {1});
  const Scores s = oneshot("finch", x, geom);
  EXPECT_NEAR(s[0][0], 0.75, 1e-6);
  EXPECT_NEAR(s[0][1], 0.375, 1e-6);
  EXPECT_NEAR(s[0][2], 1.5, 1e-6);
  EXPECT_NEAR(oneshot("finch:normalize_scores=0", x, geom)[0][2], 0.5, 1e-6);
  EXPECT_EQ(kept_by("finch", x, geom, 1), KeptSet({{2}}));
  EXPECT_EQ(kept_by("finch", x, geom, 2), KeptSet({{0, 2}}));
  LayerTensors later = x;
  test::set_vec(later.q, 0, 4, {-50});
  EXPECT_EQ(oneshot("finch", later, geom), s);
  // no question recorded: a usage error naming what to do
  const LayerGeom none = LayerGeom::from(test::tiny_attrs(1, 1, 1, 1, 5, 3, 1, 1.0), 3);
  try {
    make_policy(parse_policy_spec("finch"))->check(none);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--question-file"), std::string::npos);
  }
}

// Naive float64 references on a random layer with a 6-token question, one-shot:
// finch's scores (the question queries' causal softmax over every context and
// question key, rows weighted by the keys they see minus one) and simlayerkv's
// laziness (the last context query's attention share on the first n_initial
// and the last N - n_initial context tokens, thresholds just below and above).
TEST(Presses, FinchAndSimLayerKvMatchNaiveReferencesOnARandomLayer) {
  const int H = 4, G = 2, r = 2, d = 8, T = 100, C = 80, q = 6;
  DumpAttrs attrs = test::tiny_attrs(1, H, G, d, T, C, 8, 0.35);
  attrs.question_len = q;
  const LayerGeom geom = LayerGeom::from(attrs, C);
  const LayerTensors x = test::random_layer(H, G, d, T, 8, 9, false);
  auto attention_row = [&](int h, int t, int n_keys) {  // causal softmax over keys [0, n_keys)
    std::vector<double> z(n_keys);
    double top = -1e300, total = 0;
    for (int j = 0; j < n_keys; ++j) {
      double dot = 0;
      for (int c = 0; c < d; ++c) dot += double(x.q(h, t, c)) * x.k(h / r, j, c);
      top = std::max(top, z[j] = dot * 0.35);
    }
    for (double& v : z) total += (v = std::exp(v - top));
    for (double& v : z) v /= total;
    return z;
  };
  const Scores finch = oneshot("finch", x, geom);
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < C; ++j) {
      double want = 0;
      for (int hi = 0; hi < r; ++hi)
        for (int t = C; t < C + q; ++t) want += attention_row(g * r + hi, t, t + 1)[j] * t / q / r;
      EXPECT_NEAR(finch[g][j], want, 1e-5 * std::fabs(want) + 1e-9) << g << " " << j;
    }
  const int N = 20, n_initial = 4;
  double share = 0;
  for (int h = 0; h < H; ++h) {
    const auto a = attention_row(h, C - 1, C);
    for (int j = 0; j < C; ++j)
      if (j < n_initial || j >= C - (N - n_initial)) share += a[j] / H;
  }
  auto lazy_budget = [&](double threshold) {
    char spec[96];
    std::snprintf(spec, sizeof spec, "simlayerkv:lazy_threshold=%.6f", threshold);
    return make_policy(parse_policy_spec(spec))->layer_budget(N, 0, geom, x);
  };
  EXPECT_EQ(lazy_budget(share - 1e-4), N) << share;
  EXPECT_EQ(lazy_budget(share + 1e-4), C) << share;
}

}  // namespace
}  // namespace kvsim
