// Every plot kind draws PNG + SVG from small hand-written CSVs; bad input
// (missing column, empty file, nothing selected) fails with a message naming
// the file and what is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/plot/plots.hpp"
#include "analysis/plot/results_selection.hpp"
#include "io/errors.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

namespace fs = std::filesystem;

bool have_gnuplot() { return run_shell("gnuplot --version").exit_code == 0; }

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// 3 policies + full, 2 budgets, 2 layers x 2 heads of attn_recall, a
// layer-level layer_out_err and a head -1 summary row that must be ignored.
std::string results_csv() {
  std::ostringstream s;
  s << "dump,policy,budget,budget_ratio,block,layer,head,metric,value\n";
  const char* policies[] = {"knorm", "keydiff", "oracle", "full"};
  for (int p = 0; p < 4; ++p)
    for (int b = 0; b < 2; ++b) {
      const int tokens = b ? 64 : 12;
      const double ratio = tokens / 128.0;
      for (int l = 0; l < 2; ++l) {
        for (int h = 0; h < 2; ++h)
          s << "toy.h5," << policies[p] << "," << tokens << "," << ratio << ",128," << l << "," << h
            << ",attn_recall," << (p == 3 ? 1.0 : 0.3 + 0.1 * p + 0.4 * b + 0.05 * h) << "\n";
        s << "toy.h5," << policies[p] << "," << tokens << "," << ratio << ",128," << l
          << ",-1,layer_out_err," << (p == 3 ? 0.0 : 0.5 - 0.1 * p - 0.3 * b + 0.02 * l) << "\n";
        s << "toy.h5," << policies[p] << "," << tokens << "," << ratio << ",128," << l
          << ",-1,attn_recall_mean,7\n";
      }
    }
  return s.str();
}

std::string pca_points_csv(bool with_kept) {
  std::ostringstream s;
  s << "dump,layer,kv_head,position,pc1,pc2,attention,key_norm" << (with_kept ? ",policy,budget,kept" : "")
    << "\n";
  for (int j = 0; j < 40; ++j) {
    s << "toy.h5,1,0," << j << "," << (j % 7) - 3 << "," << (j % 5) - 2.5 << "," << 0.001 * (j + 1)
      << "," << 3 + 0.1 * j;
    if (with_kept) s << ",keydiff,0.25," << (j % 4 == 0 ? 1 : 0);
    s << "\n";
  }
  return s.str();
}

void write_correlation_csvs(const ScratchDir& dir) {
  std::ostringstream stats, bins;
  stats << "dump,score,layer,head,metric,value\n";
  bins << "dump,score,layer,head,bin,x_lo,x_hi,x_mean,y_mean,count\n";
  for (const char* score : {"keydiff", "knorm"})
    for (int l = -1; l < 3; ++l) {
      stats << "toy.h5," << score << "," << l << ",-1,spearman_rho_mean," << 0.1 * l << "\n"
            << "toy.h5," << score << "," << l << ",-1,share_rho_positive,0.5\n";
      for (int b = 0; b < 10; ++b)
        bins << "toy.h5," << score << "," << l << ",-1," << b << ",0,1,0.5," << 1e-3 * (b + 1)
             << ",12\n";
    }
  write(dir.file("correlation.csv"), stats.str());
  write(dir.file("correlation_bins.csv"), bins.str());
}

void expect_figure(const plot::PlotFiles& f) {
  for (const auto& path : {f.png, f.svg}) {
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_GT(fs::file_size(path), 1000u) << path;
  }
  const std::string png = read_text(f.png), svg = read_text(f.svg);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  for (const auto& entry : fs::directory_iterator(fs::path(f.png).parent_path()))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

class PlotFigures : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
    write(dir.file("results.csv"), results_csv());
  }
  plot::FigureOptions figure() const {
    plot::FigureOptions f;
    f.out_dir = dir.file("figs");
    return f;
  }
  ScratchDir dir;
};

}  // namespace

TEST_F(PlotFigures, RecallCurves) {
  plot::CurveOptions o;
  o.results = dir.file("results.csv");
  o.figure = figure();
  expect_figure(plot::plot_recall(o));
}

TEST_F(PlotFigures, LayerErrorCurves) {
  plot::CurveOptions o;
  o.results = dir.file("results.csv");
  o.figure = figure();
  o.bands = "all";
  expect_figure(plot::plot_layer_error(o));
}

TEST_F(PlotFigures, Heatmap) {
  plot::HeatmapOptions o;
  o.results = dir.file("results.csv");
  o.policy = "keydiff";
  o.budget = "0.1";  // nearest realised ratio: 12/128
  o.figure = figure();
  expect_figure(plot::plot_heatmap(o));
  o.budget = "64";
  o.figure.name = "heatmap64";
  expect_figure(plot::plot_heatmap(o));
  o.budget = "33";
  EXPECT_NE(error_of([&] { plot::plot_heatmap(o); }).find("budgets present"), std::string::npos);
}

TEST_F(PlotFigures, PcaScatterWithAndWithoutKeptFlags) {
  write(dir.file("pca_points.csv"), pca_points_csv(true));
  plot::PcaPlotOptions o;
  o.points = dir.file("pca_points.csv");
  o.layer = 1;
  o.figure = figure();
  expect_figure(plot::plot_pca(o));
  write(dir.file("plain.csv"), pca_points_csv(false));
  o.points = dir.file("plain.csv");
  o.figure.name = "plain";
  expect_figure(plot::plot_pca(o));
  o.layer = 0;  // no such points
  EXPECT_NE(error_of([&] { plot::plot_pca(o); }).find("no points for layer 0"), std::string::npos);
}

TEST_F(PlotFigures, DiversityBinsAndRhoBars) {
  write_correlation_csvs(dir);
  plot::DiversityPlotOptions o;
  o.bins = dir.file("correlation_bins.csv");
  o.stats = dir.file("correlation.csv");
  o.figure = figure();
  expect_figure(plot::plot_diversity(o));
}

TEST_F(PlotFigures, MissingColumnNamesFileAndColumn) {
  std::string text = results_csv();
  text.replace(text.find(",value\n"), 7, ",val\n");
  write(dir.file("bad.csv"), text);
  plot::CurveOptions o;
  o.results = dir.file("bad.csv");
  o.figure = figure();
  const std::string e = error_of([&] { plot::plot_recall(o); });
  EXPECT_NE(e.find(dir.file("bad.csv")), std::string::npos) << e;
  EXPECT_NE(e.find("missing column 'value'"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir.file("figs/recall.png")));
}

TEST_F(PlotFigures, EmptyCsvIsAClearError) {
  write(dir.file("empty.csv"), "");
  write(dir.file("header_only.csv"), "dump,policy,budget,budget_ratio,block,layer,head,metric,value\n");
  plot::CurveOptions o;
  o.figure = figure();
  o.results = dir.file("empty.csv");
  EXPECT_NE(error_of([&] { plot::plot_recall(o); }).find("empty.csv: empty CSV"), std::string::npos);
  o.results = dir.file("header_only.csv");
  EXPECT_NE(error_of([&] { plot::plot_recall(o); }).find("header_only.csv: empty CSV"),
            std::string::npos);
  o.results = dir.file("results.csv");
  o.metric = "no_such_metric";
  EXPECT_NE(error_of([&] { plot::plot_recall(o); }).find("'no_such_metric'"), std::string::npos);
}

TEST_F(PlotFigures, CliWritesFiguresAndReportsBadInput) {
  auto r = run_kvsim("plot recall --in " + dir.path().string() + " --out " + dir.file("cli"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.file("cli/recall.png")));
  EXPECT_TRUE(fs::exists(dir.file("cli/recall.svg")));
  write(dir.file("nohead.csv"), "dump,policy\nx,y\n");
  r = run_kvsim("plot recall --in " + dir.file("nohead.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nohead.csv: missing column"), std::string::npos) << r.err;
  r = run_kvsim("plot nosuchkind --in " + dir.path().string());
  EXPECT_EQ(r.exit_code, 2);
}

TEST(PlotSelection, QuantileAndSpreadMatchHandValues) {
  // numpy.percentile([1..5], 5) = 1.2, 95 -> 4.8
  const auto s = plot::spread({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_NEAR(s.p5, 1.2, 1e-12);
  EXPECT_NEAR(s.p95, 4.8, 1e-12);
}

}  // namespace kvsim::test
