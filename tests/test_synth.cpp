// Synthetic dumps: deterministic per seed, and carrying the attention
// structure (sink, retrieval tokens) that eviction studies depend on.
#include <omp.h>

#include <cmath>
#include <numeric>

#include "io/kvdump.hpp"
#include "sim/model/synth.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

SynthConfig small_config(std::uint64_t seed) {
  SynthConfig c;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.n_tokens = 160;
  c.seed = seed;
  return c;
}

// Mean over all queries t of the causal softmax attention that key j receives,
// averaged over heads; plain loops, independent of the engine.
std::vector<double> mean_attention_received(const LayerTensors& t, double scale, int from_query = 0) {
  const int H = static_cast<int>(t.q.shape()[0]), T = static_cast<int>(t.q.shape()[1]);
  const int d = static_cast<int>(t.q.shape()[2]), G = static_cast<int>(t.k.shape()[0]);
  std::vector<double> mass(static_cast<std::size_t>(T), 0.0);
  for (int h = 0; h < H; ++h) {
    const int g = h / (H / G);
    for (int q = from_query; q < T; ++q) {
      std::vector<double> logits(static_cast<std::size_t>(q + 1));
      for (int j = 0; j <= q; ++j) {
        double dot = 0;
        for (int i = 0; i < d; ++i) dot += double(t.q(h, q, i)) * t.k(g, j, i);
        logits[j] = dot * scale;
      }
      const double mx = *std::max_element(logits.begin(), logits.end());
      double z = 0;
      for (double& x : logits) z += (x = std::exp(x - mx));
      for (int j = 0; j <= q; ++j) mass[j] += logits[j] / z / (H * (T - from_query));
    }
  }
  return mass;
}

TEST(Synth, SameSeedGivesIdenticalFileBytes) {
  test::ScratchDir dir;
  write_synth_dump(small_config(7), dir.file("a.h5"));
  write_synth_dump(small_config(7), dir.file("b.h5"));
  const std::string a = test::read_text(dir.file("a.h5")), b = test::read_text(dir.file("b.h5"));
  ASSERT_GT(a.size(), 10000u);
  EXPECT_TRUE(a == b) << "same seed must give byte-identical dumps";
}

TEST(Synth, DifferentSeedsAndLayersDiffer) {
  const LayerTensors a = synth_layer(small_config(1), 0);
  const LayerTensors b = synth_layer(small_config(2), 0);
  const LayerTensors c = synth_layer(small_config(1), 1);
  EXPECT_NE(a.q, b.q);
  EXPECT_NE(a.k, b.k);
  EXPECT_NE(a.k, c.k);
  EXPECT_EQ(synth_layer(small_config(1), 1).k, c.k);
}

TEST(Synth, ThreadCountDoesNotChangeBits) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const LayerTensors one = synth_layer(small_config(9), 1);
  omp_set_num_threads(2);
  const LayerTensors two = synth_layer(small_config(9), 1);
  omp_set_num_threads(before);
  EXPECT_EQ(one.q, two.q);
  EXPECT_EQ(one.k, two.k);
  EXPECT_EQ(one.v, two.v);
  EXPECT_EQ(*one.o_proj, *two.o_proj);
}

TEST(Synth, ShapesFollowTheConfig) {
  SynthConfig cfg = small_config(0);
  cfg.with_o_proj = false;
  cfg.with_q_pre_rope = true;
  const LayerTensors t = synth_layer(cfg, 0);
  EXPECT_EQ(t.q.shape()[0], 4u);
  EXPECT_EQ(t.k.shape()[0], 2u);
  EXPECT_EQ(t.v.shape()[1], 160u);
  EXPECT_FALSE(t.o_proj.has_value());
  ASSERT_TRUE(t.q_pre_rope.has_value());
  EXPECT_EQ(*cfg.attrs().context_len, 120);  // T - min(64, T/4)
  EXPECT_NE(*t.q_pre_rope, t.q);              // RoPE changed the queries
}

TEST(Synth, SinkTokenDrawsTheLargestMeanAttention) {
  const SynthConfig cfg = small_config(3);
  for (int layer = 0; layer < cfg.n_layers; ++layer) {
    const LayerTensors t = synth_layer(cfg, layer);
    const auto mass = mean_attention_received(t, cfg.attrs().scale());
    const auto top = std::max_element(mass.begin(), mass.end()) - mass.begin();
    EXPECT_EQ(top, 0) << "layer " << layer << ": sink mass " << mass[0] << " vs max " << mass[top];
    EXPECT_GT(mass[0], 0.2);
  }
}

TEST(Synth, FutureQueriesRetrieveContextTokens) {
  // The future queries' attention over the context (sink excluded) is far more
  // concentrated than uniform: a few retrieval tokens draw it.
  SynthConfig cfg = small_config(5);
  cfg.n_retrieval = 3;
  const LayerTensors t = synth_layer(cfg, 0);
  const int C = *cfg.attrs().context_len;
  auto mass = mean_attention_received(t, cfg.attrs().scale(), C);
  std::vector<double> ctx(mass.begin() + 1, mass.begin() + C);
  std::sort(ctx.rbegin(), ctx.rend());
  const double top3 = ctx[0] + ctx[1] + ctx[2];
  const double total = std::accumulate(ctx.begin(), ctx.end(), 0.0);
  EXPECT_GT(top3 / total, 10 * 3.0 / (C - 1)) << "top-3 share " << top3 / total;
}

TEST(SynthCli, WritesADumpThatInspectValidates) {
  test::ScratchDir dir;
  auto made = test::run_kvsim("synth --out " + dir.file("s.h5") +
                              " --layers 3 --heads 4 --kv-heads 1 --head-dim 8 --tokens 50 --dtype f16 --seed 4");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto shown = test::run_kvsim("inspect " + dir.file("s.h5") + " --stats");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("n_layers: 3"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("2\tk\t[1,50,8]\tfloat16"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("nonfinite_q"), std::string::npos);
}

TEST(SynthCli, BadOptionsAreUsageErrors) {
  test::ScratchDir dir;
  auto r = test::run_kvsim("synth --out " + dir.file("x.h5") + " --heads 6 --kv-heads 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not divisible"), std::string::npos) << r.err;
  r = test::run_kvsim("synth --out " + dir.file("x.h5") + " --dtype f64");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--dtype"), std::string::npos) << r.err;
  r = test::run_kvsim("synth --out /nonexistent-dir/x.h5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent-dir/x.h5"), std::string::npos) << r.err;
}

TEST(Cli, ExitCodesAndHelp) {
  EXPECT_EQ(test::run_kvsim("").exit_code, 2);
  auto help = test::run_kvsim("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("inspect"), std::string::npos);
  auto sub = test::run_kvsim("inspect --help");
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.out.find("--stats"), std::string::npos);
  auto unknown = test::run_kvsim("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("frobnicate"), std::string::npos);
  auto bad = test::run_kvsim("inspect --no-such-flag x");
  EXPECT_EQ(bad.exit_code, 2);
  auto missing = test::run_kvsim("inspect /no/such/dump.h5");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/no/such/dump.h5"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
