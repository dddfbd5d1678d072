// kvsim analyze end to end: a dump built so that distinctive keys are the
// attended ones gives rho > 0.5 in correlation.csv; PCA CSVs carry kept flags
// when a kept set is given (from a file or from the replay engine).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "analysis/analyze_dump.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/kvdump.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

// Keys around a shared direction e0; future queries point against e0, so
// the keys least aligned with the mean (the distinctive ones) get the attention.
void write_distinctive_dump(const std::string& path) {
  DumpAttrs a;
  a.model = "distinctive-toy";
  a.source = "synthetic";
  a.n_layers = 2;
  a.n_heads = 4;
  a.n_kv_heads = 2;
  a.head_dim = 16;
  a.hidden_size = 64;
  a.n_tokens = 200;
  a.context_len = 160;
  a.attn_scale = 0.25;
  DumpWriter writer(path, a);
  std::vector<int> ids(a.n_tokens, 1);
  writer.write_tokens(ids);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (int l = 0; l < a.n_layers; ++l) {
    LayerTensors t;
    t.q = Tensor3::from_shape({4, 200, 16});
    t.k = Tensor3::from_shape({2, 200, 16});
    t.v = Tensor3::from_shape({2, 200, 16});
    for (int g = 0; g < 2; ++g)
      for (int j = 0; j < 200; ++j) {
        float n2 = 0;
        std::vector<float> dir(16);
        for (int c = 0; c < 16; ++c) {
          dir[c] = (c == 0 ? 1.f : 0.f) + 0.8f * normal(rng);
          n2 += dir[c] * dir[c];
        }
        for (int c = 0; c < 16; ++c) {
          t.k(g, j, c) = 4.f * dir[c] / std::sqrt(n2);
          t.v(g, j, c) = normal(rng);
        }
      }
    for (int h = 0; h < 4; ++h)
      for (int i = 0; i < 200; ++i)
        for (int c = 0; c < 16; ++c) t.q(h, i, c) = (i >= 160 && c == 0 ? -3.f : 0.f) + 0.5f * normal(rng);
    writer.write_layer(l, t);
  }
  writer.finish();
}

double pooled(const analysis::CsvTable& t, const std::string& score, const std::string& metric) {
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (t.text(r, t.column("score")) == score && t.text(r, t.column("metric")) == metric &&
        t.text(r, t.column("layer")) == "-1" && t.text(r, t.column("head")) == "-1")
      return t.number(r, t.column("value"));
  return NAN;
}

}  // namespace

TEST(AnalyzeCli, DistinctiveDumpGivesStrongPositiveRho) {
  ScratchDir dir;
  write_distinctive_dump(dir.file("d.h5"));
  const auto r = run_kvsim("analyze --dump " + dir.file("d.h5") + " --correlation --out " + dir.file("a"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pooled over 8 heads"), std::string::npos) << r.out;
  const auto t = analysis::CsvTable::read(dir.file("a/correlation.csv"));
  EXPECT_GT(pooled(t, "keydiff", "spearman_rho_mean"), 0.5);
  EXPECT_DOUBLE_EQ(pooled(t, "keydiff", "share_rho_positive"), 1.0);
  EXPECT_DOUBLE_EQ(pooled(t, "keydiff", "n_heads"), 8.0);
  // every query head of both layers has its own rho
  std::size_t per_head = 0;
  for (std::size_t i = 0; i < t.rows(); ++i)
    per_head += t.text(i, t.column("metric")) == "spearman_rho" && t.text(i, t.column("score")) == "keydiff";
  EXPECT_EQ(per_head, 8u);
  const auto bins = analysis::CsvTable::read(dir.file("a/correlation_bins.csv"));
  bins.require_columns({"dump", "score", "layer", "head", "bin", "x_lo", "x_hi", "x_mean", "y_mean", "count"});
  EXPECT_EQ(bins.rows(), 2u * (8 + 2 + 1) * 10);  // 2 scores x (heads + layers + pooled) x deciles
}

TEST(AnalyzeCli, PcaWritesSpectrumPointsAndKeptFlags) {
  ScratchDir dir;
  write_distinctive_dump(dir.file("d.h5"));
  {
    std::ofstream kept(dir.file("kept.csv"));
    kept << "layer,kv_head,position\n";
    for (int j = 0; j < 160; j += 4) kept << "1,0," << j << "\n";
  }
  auto r = run_kvsim("analyze --dump " + dir.file("d.h5") + " --pca --layers 1 --kept " + dir.file("kept.csv") +
                     " --out " + dir.file("p"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto points = analysis::CsvTable::read(dir.file("p/pca_points.csv"));
  EXPECT_EQ(points.rows(), 2u * 160);  // one layer, 2 KV heads, C = 160
  std::size_t kept = 0;
  for (std::size_t i = 0; i < points.rows(); ++i) kept += points.text(i, points.column("kept")) == "1";
  EXPECT_EQ(kept, 40u);
  const auto spectrum = analysis::CsvTable::read(dir.file("p/pca_spectrum.csv"));
  EXPECT_EQ(spectrum.rows(), 2u * 16);
  EXPECT_NEAR(spectrum.number(15, spectrum.column("cumulative_ratio")), 1.0, 1e-6);

  // kept set replayed by the engine: N = floor(0.25 * 160) = 40 per KV head
  r = run_kvsim("analyze --dump " + dir.file("d.h5") + " --pca --policy keydiff --budget 0.25 --out " +
                dir.file("e"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto replayed = analysis::CsvTable::read(dir.file("e/pca_points.csv"));
  std::size_t n_kept = 0;
  for (std::size_t i = 0; i < replayed.rows(); ++i) n_kept += replayed.text(i, replayed.column("kept")) == "1";
  EXPECT_EQ(n_kept, 2u * 2 * 40);  // 2 layers x 2 KV heads x 40

  // without a kept set the kept columns are absent
  r = run_kvsim("analyze --dump " + dir.file("d.h5") + " --pca --out " + dir.file("n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(analysis::CsvTable::read(dir.file("n/pca_points.csv")).has_column("kept"));
}

// Rows naming a layer or KV head the dump does not have (or a position twice)
// used to be dropped silently or to double-count a key; they are errors
// naming the file and line.
TEST(AnalyzeCli, KeptRowsOutsideTheDumpAreErrorsNamingFileAndLine) {
  ScratchDir dir;
  write_distinctive_dump(dir.file("d.h5"));  // 2 layers, 2 KV heads, C = 160
  auto analyze_with = [&](const std::string& rows) {
    std::ofstream(dir.file("kept.csv")) << "layer,kv_head,position\n1,0,3\n" << rows;
    return run_kvsim("analyze --dump " + dir.file("d.h5") + " --pca --kept " + dir.file("kept.csv") +
                     " --out " + dir.file("p"));
  };
  auto r = analyze_with("2,0,4\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir.file("kept.csv") + ": line 3: layer 2 is not a layer of the dump"), std::string::npos)
      << r.err;
  r = analyze_with("1,2,4\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir.file("kept.csv") + ": line 3: kv_head 2"), std::string::npos) << r.err;
  r = analyze_with("1,0,3\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir.file("kept.csv") + ": line 3: position 3 of layer 1, kv_head 0 is listed twice"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(analyze_with("0,1,159\n").exit_code, 0);
}

TEST(AnalyzeCli, UsageErrors) {
  ScratchDir dir;
  write_distinctive_dump(dir.file("d.h5"));
  EXPECT_EQ(run_kvsim("analyze --dump " + dir.file("d.h5") + " --out " + dir.file("x")).exit_code, 2);
  auto r = run_kvsim("analyze --dump " + dir.file("d.h5") + " --pca --layers 7 --out " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--layers"), std::string::npos) << r.err;
  r = run_kvsim("analyze --dump " + dir.file("d.h5") + " --pca --policy keydiff --out " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 2);
  r = run_kvsim("analyze --dump " + dir.file("nope.h5") + " --pca --out " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace kvsim::test
