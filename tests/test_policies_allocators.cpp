// The budget allocators adakv, pyramidkv and per_layer around a scorer:
// hand-computed kept sets and layer budgets, cross-checks against the inner
// policy replayed at the allocator's per-layer budget, and the composition
// syntax `adakv(snapkv:window=32):alpha_safeguard=0.3`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "io/errors.hpp"
#include "sim/engine/replay.hpp"
#include "tests/engine_util.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

// Two KV heads (one query head each), d = 1, C = 5 context + 1 future token.
// knorm scores -|k|: head 0 keys 1, 2, 3, 4, 5; head 1 keys 10, 20, 30, 40, 50.
struct TwoHeads {
  LayerGeom geom;
  LayerTensors x;
  LayerShared shared;
  TwoHeads() {
    geom = LayerGeom::from(test::tiny_attrs(1, 2, 2, 1, 6, 5, 1, 1.0), 5);
    x = test::zero_layer(2, 2, 1, 6);
    for (int j = 0; j < 6; ++j) {
      test::set_vec(x.k, 0, j, {double(j + 1)});
      test::set_vec(x.k, 1, j, {10.0 * (j + 1)});
    }
  }
  KeptSet replay(const std::string& spec, int N) {
    auto p = make_policy(parse_policy_spec(spec));
    p->prepare_layer(x, geom, shared);
    ReplayOptions o;
    o.block = 0;
    return replay_layer(*p, x, geom, 0, N, o, shared);
  }
};

// N = 2, so the layer keeps G*N = 4 tokens:
//   knorm alone: each head its own best two: {0,1} and {0,1};
//   alpha 0 (no safeguard): the four best scores of the layer, all in head 0;
//   alpha 0.5: each head first keeps int(0.5*2) = 1 of its own, then the two
//   best remaining scores of the layer (head 0's positions 1 and 2);
//   alpha 1: the floor is N itself: knorm alone.
TEST(Allocators, AdaKvHandComputed) {
  TwoHeads t;
  EXPECT_EQ(t.replay("knorm", 2), KeptSet({{0, 1}, {0, 1}}));
  EXPECT_EQ(t.replay("adakv(knorm):alpha_safeguard=0", 2), KeptSet({{0, 1, 2, 3}, {}}));
  EXPECT_EQ(t.replay("adakv(knorm):alpha_safeguard=0.5", 2), KeptSet({{0, 1, 2}, {0}}));
  EXPECT_EQ(t.replay("adakv(knorm):alpha_safeguard=1", 2), KeptSet({{0, 1}, {0, 1}}));
  EXPECT_EQ(t.replay("adakv(knorm)", 5), KeptSet({{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}}));  // N >= C
}

// kvpress's get_layer_budget on paper: N = 100, C = 1000, L = 5, window 4,
// beta 20: min = 5, max = 195, steps 47.5: 195, 147.5 -> 148 (half to
// even), 100, 52.5 -> 52, 5 (sum 500 = L*N). N = 600: max = 2N - min = 1170
// >= C - window, so max = 996, min = 204, steps 198. Window 64 > min = 5:
// kvpress falls back to the uniform budget, with a caveat here.
TEST(Allocators, PyramidKvLayerBudgetsHandComputed) {
  LayerGeom g = LayerGeom::from(test::tiny_attrs(5, 2, 2, 1, 1100, 1000, 1, 1.0), 1000);
  auto budgets = [&](const std::string& spec, int N) {
    auto p = make_policy(parse_policy_spec(spec));
    std::vector<int> n;
    for (int l = 0; l < 5; ++l) n.push_back(p->layer_budget(N, l, g, LayerTensors{}));
    return n;
  };
  EXPECT_EQ(budgets("pyramidkv(knorm):window=4", 100), std::vector<int>({195, 148, 100, 52, 5}));
  EXPECT_EQ(budgets("pyramidkv(knorm):window=4", 600), std::vector<int>({996, 798, 600, 402, 204}));
  EXPECT_EQ(budgets("pyramidkv(knorm)", 100), std::vector<int>({100, 100, 100, 100, 100}));
  EXPECT_EQ(budgets("pyramidkv(knorm):window=4,beta=1", 100), std::vector<int>({100, 100, 100, 100, 100}));
  const auto caveats = make_policy(parse_policy_spec("pyramidkv(knorm)"))->caveats(100, 128, g);
  ASSERT_EQ(caveats.size(), 1u);
  EXPECT_EQ(caveats[0].code, "pyramidkv_uniform");
  EXPECT_TRUE(make_policy(parse_policy_spec("pyramidkv(knorm):window=4"))->caveats(100, 128, g).empty());
}

// 0.7 : 0.3 of L*N = 54 tokens: 37.8 and 16.2 -> 37 + 16 = 53, the one left
// goes to the larger remainder (layer 0): 38 and 16. The same shares from
// kvpress's removed fractions and from a file.
TEST(Allocators, PerLayerBudgetsHandComputedFromListRemovedFractionsAndFile) {
  test::ScratchDir dir;
  const std::string file = dir.file("shares.txt");
  std::ofstream(file) << "# layer shares\n0.7\n\n  0.3  \n";
  LayerGeom g = LayerGeom::from(test::tiny_attrs(2, 2, 2, 1, 300, 277, 1, 1.0), 277);
  for (const std::string& spec : std::vector<std::string>{"per_layer(h2o):ratios=0.7/0.3", "per_layer(h2o):compression_ratios=0.3/0.7",
                                  "per_layer(h2o):file=" + file}) {
    auto p = make_policy(parse_policy_spec(spec));
    EXPECT_EQ(p->layer_budget(27, 0, g, LayerTensors{}), 38) << spec;
    EXPECT_EQ(p->layer_budget(27, 1, g, LayerTensors{}), 16) << spec;
    EXPECT_NO_THROW(p->check(g));
  }
  // three shares for a two-layer model; no share, two sources, a bad number, all zero
  LayerGeom three = g;
  three.n_layers = 3;
  EXPECT_THROW(make_policy(parse_policy_spec("per_layer(h2o):ratios=0.7/0.3"))->check(three), UsageError);
  EXPECT_THROW(parse_policy_spec("per_layer(h2o)"), UsageError);
  EXPECT_THROW(parse_policy_spec("per_layer(h2o):ratios=0.5/0.5,file=" + file), UsageError);
  EXPECT_THROW(parse_policy_spec("per_layer(h2o):ratios=0.5/abc"), UsageError);
  EXPECT_THROW(parse_policy_spec("per_layer(h2o):ratios=0.5/nan"), UsageError);
  EXPECT_THROW(parse_policy_spec("per_layer(h2o):ratios=0/0"), UsageError);
  EXPECT_THROW(parse_policy_spec("per_layer(h2o):file=" + dir.file("missing")), InputError);
}

// Cross-check on a random layer, block mode: a layer-budget allocator's kept
// set is the inner policy's kept set at that layer's budget, and adakv with
// the full safeguard is the inner policy itself.
TEST(Allocators, LayerBudgetAllocatorsReplayTheInnerPolicyAtTheirBudget) {
  const int H = 4, G = 2, d = 8, T = 300, C = 260;
  LayerGeom g = LayerGeom::from(test::tiny_attrs(4, H, G, d, T, C, 16, 1.0 / std::sqrt(8.0)), C);
  const LayerTensors x = test::random_layer(H, G, d, T, 16, 7);
  ReplayOptions o;
  o.block = 32;
  auto replay = [&](const std::string& spec, int layer, int N) {
    LayerShared shared;
    auto p = make_policy(parse_policy_spec(spec));
    p->prepare_layer(x, g, shared);
    return replay_layer(*p, x, g, layer, N, o, shared);
  };
  const std::string pyramid = "pyramidkv(h2o):window=2,beta=4";
  const std::string shares = "per_layer(snapkv:window=16):ratios=0.4/0.3/0.2/0.1";
  long pyramid_total = 0;
  for (int layer = 0; layer < 4; ++layer) {
    const int n_pyr = make_policy(parse_policy_spec(pyramid))->layer_budget(40, layer, g, LayerTensors{});
    const int n_share = make_policy(parse_policy_spec(shares))->layer_budget(40, layer, g, LayerTensors{});
    pyramid_total += n_pyr;
    EXPECT_EQ(replay(pyramid, layer, 40), replay("h2o", layer, n_pyr)) << layer;
    EXPECT_EQ(replay(shares, layer, 40), replay("snapkv:window=16", layer, n_share)) << layer;
    EXPECT_EQ(replay(shares, layer, 40)[0].size(), std::size_t(n_share));
  }
  EXPECT_EQ(pyramid_total, 4 * 40);
  EXPECT_NE(make_policy(parse_policy_spec(pyramid))->layer_budget(40, 0, g, LayerTensors{}), 40);
  EXPECT_EQ(replay("adakv(h2o):alpha_safeguard=1", 1, 40), replay("h2o", 1, 40));
  // adakv keeps G*N tokens per layer, however it splits them
  const KeptSet ada = replay("adakv(h2o)", 1, 40);
  EXPECT_EQ(ada[0].size() + ada[1].size(), std::size_t(G * 40));
  EXPECT_GE(std::min(ada[0].size(), ada[1].size()), std::size_t(40 / 5));
}

TEST(Allocators, CompositionSyntax) {
  const PolicySpec a = parse_policy_spec("adakv(snapkv:window=32,kernel=7):alpha_safeguard=0.3");
  EXPECT_EQ(a.label(), "adakv(snapkv:window=32,kernel=7):alpha_safeguard=0.3");
  ASSERT_TRUE(a.inner);
  EXPECT_EQ(a.inner->params.get("kernel"), "7");
  EXPECT_EQ(parse_policy_spec("adakv").label(), "adakv(snapkv)");  // kvpress's default scorer
  EXPECT_EQ(parse_policy_spec("pyramidkv").label(), "pyramidkv(snapkv)");
  EXPECT_EQ(parse_policy_spec("pyramidkv(adakv(h2o))").label(), "pyramidkv(adakv(h2o))");
  // commas inside the parentheses belong to the inner policy
  const auto list = parse_policy_list("adakv(snapkv:window=32,kernel=7),h2o;pyramidkv(knorm):beta=4,window=2");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].label(), "adakv(snapkv:window=32,kernel=7)");
  EXPECT_EQ(list[2].label(), "pyramidkv(knorm):beta=4,window=2");
  // --policies all: each allocator around its default; per_layer has no schedule of its own
  std::vector<std::string> all;
  for (const auto& p : parse_policy_list("all")) all.push_back(p.label());
  EXPECT_NE(std::find(all.begin(), all.end(), "adakv(snapkv)"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "pyramidkv(snapkv)"), all.end());
  for (const auto& label : all)
    for (const char* unequal : {"per_layer", "chunkkv", "simlayerkv"}) EXPECT_EQ(label.find(unequal), std::string::npos);
  EXPECT_EQ(parse_policy_list("all,chunkkv,simlayerkv").size(), all.size() + 2);
  for (const std::string bad : {"knorm(h2o)", "per_layer", "adakv(full)", "adakv(laprox:mode=model)", "adakv(snapkv",
                                "adakv(snapkv)x", "adakv()", "snapkv)", "adakv(nosuch)",
                                "adakv(snapkv):alpha_safeguard=1.5", "adakv(snapkv):alpha_safeguard=0x1",
                                "adakv(snapkv):alpha_safeguard=inf"})
    EXPECT_THROW(parse_policy_spec(bad), UsageError) << bad;
}

// Every policy outside `all` runs when named, on the bundled real dump (it
// records its question): each gets its rows.
TEST(Allocators, PoliciesOutsideAllRunOnTheBundledRealDump) {
  test::ScratchDir dir;
  const auto r = test::run_kvsim("sweep -q --dump " + std::string(KVSIM_SOURCE_DIR) +
                                 "/data/tinystories656k-kite.h5 --policies 'all,chunkkv,simlayerkv,finch,"
                                 "per_layer(h2o):ratios=0.6/0.4' --budgets 0.1,0.3 --out " + dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string results = test::read_text(dir.file("o/results.csv"));
  for (const char* label : {",chunkkv(snapkv),", ",simlayerkv,", ",finch,", ",per_layer(h2o):ratios=0.6/0.4,",
                            ",expected_attention,", ",criticalkv(snapkv),", ",adakv(snapkv),"})
    EXPECT_NE(results.find(label), std::string::npos) << label;
}

// "all" as an item of a list skips the policies that need o_proj on a dump
// without it, as "all" alone does, and says so.
TEST(Allocators, AllAsAListItemSkipsOprojPoliciesOnADumpWithoutIt) {
  test::ScratchDir dir;
  const std::string dump = dir.file("n.h5");
  auto r = test::run_kvsim("synth --out " + dump + " --layers 1 --heads 4 --kv-heads 2 --head-dim 16 --tokens 160 "
                           "--context-len 128 --no-o-proj");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_kvsim("sweep -q --dump " + dump + " --policies all,chunkkv --budgets 0.25 --out " + dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("skipping criticalkv(snapkv)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipping laprox"), std::string::npos) << r.err;
  EXPECT_NE(test::read_text(dir.file("o/results.csv")).find(",chunkkv(snapkv),"), std::string::npos);
}

TEST(Allocators, SweepRefusesTheSameAllocatorTwiceAndRunsAllOnASyntheticDump) {
  test::ScratchDir dir;
  const std::string dump = dir.file("s.h5");
  auto r = test::run_kvsim("synth --out " + dump + " --layers 3 --heads 4 --kv-heads 2 --head-dim 16 --tokens 200 "
                           "--context-len 168 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_kvsim("sweep -q --dump " + dump + " --policies 'adakv,adakv(snapkv)' --budgets 0.25 --out " +
                      dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'adakv(snapkv)' is listed twice"), std::string::npos) << r.err;
  r = test::run_kvsim("sweep -q --dump " + dump + " --policies all --budgets 0.25 --out " + dir.file("all"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string results = test::read_text(dir.file("all/results.csv"));
  EXPECT_NE(results.find(",adakv(snapkv),"), std::string::npos);
  EXPECT_NE(results.find(",pyramidkv(snapkv),"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
