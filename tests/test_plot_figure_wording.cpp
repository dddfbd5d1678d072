// Figures say what they show: the title, axis label, legend and axis range of
// the budget curves follow the metric drawn (a recall is clipped to [0, 1]
// and has the oracle as its ceiling; an error is not, and gets a log axis
// only when every value is positive), and a policy has the same colour in
// every figure whatever the other policies drawn beside it. Asserted on the
// gnuplot script that drew the figure.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "analysis/plot/plots.hpp"
#include "analysis/plot/policy_colors.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

namespace fs = std::filesystem;

bool have_gnuplot() { return run_shell("gnuplot --version").exit_code == 0; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The first line of the script's first terminal block that starts with `prefix` ("" if none).
std::string line_starting(const std::string& script, const std::string& prefix) {
  std::istringstream lines(script);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

// The colour of the key entry titled `policy` ("" if not drawn).
std::string color_of(const std::string& script, const std::string& policy) {
  std::istringstream lines(script);
  const std::regex color("lc rgb '(#[0-9A-Fa-f]{6})'");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (contains(line, "title '" + policy + "'") && std::regex_search(line, m, color)) return m[1];
  }
  return "";
}

// results.csv with two budgets, two layers and two heads; `value(policy,
// budget index, layer, head)` per metric.
std::string results_csv(const std::vector<std::string>& policies, const std::vector<std::string>& head_metrics,
                        const std::vector<std::string>& layer_metrics,
                        double (*value)(const std::string& metric, std::size_t policy, int budget, int layer, int head)) {
  std::ostringstream s;
  s << "dump,policy,budget,budget_ratio,block,layer,head,metric,value\n";
  for (std::size_t p = 0; p < policies.size(); ++p)
    for (int b = 0; b < 2; ++b) {
      const int tokens = b ? 64 : 8;
      for (int l = 0; l < 2; ++l) {
        const std::string prefix = "toy.h5," + policies[p] + "," + std::to_string(tokens) + "," +
                                   std::to_string(tokens / 128.0) + ",128," + std::to_string(l) + ",";
        for (const auto& m : head_metrics)
          for (int h = 0; h < 2; ++h) s << prefix << h << "," << m << "," << value(m, p, b, l, h) << "\n";
        for (const auto& m : layer_metrics) s << prefix << "-1," << m << "," << value(m, p, b, l, -1) << "\n";
      }
    }
  return s.str();
}

double plausible(const std::string& metric, std::size_t p, int b, int l, int h) {
  const double q = 0.1 * p + 0.3 * b + 0.02 * l + 0.01 * (h + 1);  // in (0, 0.6)
  if (metric == "attn_recall" || metric == "topk_recall" || metric == "attn_recall_mean") return 0.35 + q;
  if (metric == "oracle_gap") return 0.2 - q;  // changes sign
  return 0.6 - q;                              // errors, all positive
}

// As plausible, but one policy's layer output error is exactly 0 at the larger
// budget (a log axis would drop that point).
double with_zero_error(const std::string& metric, std::size_t p, int b, int l, int h) {
  return metric == "layer_out_err" && p == 1 && b == 1 ? 0.0 : plausible(metric, p, b, l, h);
}

class FigureWording : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  }
  std::string write_results(const std::string& name, const std::string& text) const {
    std::ofstream(dir.file(name)) << text;
    return dir.file(name);
  }
  plot::CurveOptions curves(const std::string& results, const std::string& metric) const {
    plot::CurveOptions o;
    o.results = results;
    o.metric = metric;
    o.figure.out_dir = dir.file("figs");
    o.figure.name = metric.empty() ? "default" : metric;
    return o;
  }
  ScratchDir dir;
};

}  // namespace

TEST_F(FigureWording, RecallFigureFollowsTheMetric) {
  const std::string results =
      write_results("results.csv", results_csv({"keydiff", "knorm", "oracle"},
                                               {"attn_recall", "topk_recall", "oracle_gap", "head_out_err"},
                                               {"layer_out_err"}, plausible));

  const std::string recall = plot::plot_recall(curves(results, "attn_recall")).script;
  EXPECT_TRUE(contains(line_starting(recall, "set title"), "Attention-mass recall")) << recall;
  EXPECT_TRUE(contains(line_starting(recall, "set ylabel"), "attention-mass recall")) << recall;
  EXPECT_TRUE(contains(recall, "title 'oracle (ceiling)'")) << recall;
  EXPECT_TRUE(contains(line_starting(recall, "set yrange"), ":1.005]")) << recall;
  EXPECT_FALSE(contains(recall, "set logscale y")) << recall;

  // top-k recall: a fraction, but the oracle (most attention mass) is no bound on it
  const std::string topk = plot::plot_recall(curves(results, "topk_recall")).script;
  EXPECT_TRUE(contains(line_starting(topk, "set title"), "Top-k recall")) << topk;
  EXPECT_TRUE(contains(line_starting(topk, "set ylabel"), "top-k recall")) << topk;
  EXPECT_FALSE(contains(topk, "ceiling")) << topk;
  EXPECT_FALSE(contains(topk, "ttention-mass recall")) << topk;
  EXPECT_TRUE(contains(line_starting(topk, "set yrange"), ":1.005]")) << topk;

  // an error: no recall wording, no ceiling, no clipping to 1; log axis (all values > 0)
  const std::string error = plot::plot_recall(curves(results, "head_out_err")).script;
  EXPECT_TRUE(contains(line_starting(error, "set title"), "Head output error")) << error;
  EXPECT_TRUE(contains(line_starting(error, "set ylabel"), "head output error")) << error;
  EXPECT_FALSE(contains(error, "ttention-mass recall")) << error;
  EXPECT_FALSE(contains(error, "ceiling")) << error;
  EXPECT_FALSE(contains(error, "1.005")) << error;
  EXPECT_TRUE(contains(error, "set logscale y")) << error;

  // the oracle gap takes both signs: neither clipped at 0 or 1 nor logarithmic
  const std::string gap = plot::plot_recall(curves(results, "oracle_gap")).script;
  EXPECT_TRUE(contains(line_starting(gap, "set title"), "Oracle gap")) << gap;
  EXPECT_FALSE(contains(gap, "ceiling")) << gap;
  EXPECT_FALSE(contains(gap, "set logscale y")) << gap;
  EXPECT_FALSE(contains(gap, "1.005")) << gap;
  EXPECT_FALSE(contains(line_starting(gap, "set yrange"), "[0:")) << gap;
}

TEST_F(FigureWording, LayerErrorFigureFollowsTheMetric) {
  const std::string results = write_results(
      "results.csv", results_csv({"keydiff", "laprox", "oracle"}, {}, {"layer_out_err", "attn_recall_mean"}, plausible));

  const std::string error = plot::plot_layer_error(curves(results, "")).script;
  EXPECT_TRUE(contains(line_starting(error, "set title"), "Layer output error")) << error;
  EXPECT_TRUE(contains(error, "set logscale y")) << error;
  EXPECT_FALSE(contains(error, "ceiling")) << error;

  // a per-layer recall summary: recall wording, clipped to 1, linear, the oracle its ceiling
  const std::string recall = plot::plot_layer_error(curves(results, "attn_recall_mean")).script;
  EXPECT_TRUE(contains(line_starting(recall, "set title"), "Attention-mass recall")) << recall;
  EXPECT_TRUE(contains(line_starting(recall, "set ylabel"), "attention-mass recall")) << recall;
  EXPECT_FALSE(contains(recall, "output error")) << recall;
  EXPECT_FALSE(contains(recall, "set logscale y")) << recall;
  EXPECT_TRUE(contains(line_starting(recall, "set yrange"), ":1.005]")) << recall;
  EXPECT_TRUE(contains(recall, "title 'oracle (ceiling)'")) << recall;
}

// A log axis cannot show a zero: with one exact-zero error the axis stays linear.
TEST_F(FigureWording, LogAxisOnlyWhenEveryValueIsPositive) {
  const std::string results = write_results(
      "results.csv", results_csv({"keydiff", "laprox", "oracle"}, {}, {"layer_out_err"}, with_zero_error));
  const std::string script = plot::plot_layer_error(curves(results, "")).script;
  EXPECT_FALSE(contains(script, "set logscale y")) << script;
  EXPECT_TRUE(contains(line_starting(script, "set yrange"), "[0:")) << script;
}

// The same policy, the same colour: two figures with different policies in
// different (alphabetical) positions.
TEST_F(FigureWording, EachPolicyKeepsItsColourAcrossFigures) {
  const std::string a = write_results("a.csv", results_csv({"keydiff", "knorm", "oracle"}, {"attn_recall"}, {},
                                                           plausible));
  const std::string b = write_results(
      "b.csv", results_csv({"h2o", "keydiff", "snapkv:window=32", "snapkv", "oracle"}, {"attn_recall"}, {}, plausible));
  auto o = curves(a, "");
  const std::string first = plot::plot_recall(o).script;
  o.results = b;
  o.figure.name = "second";
  const std::string second = plot::plot_recall(o).script;
  ASSERT_NE(color_of(first, "keydiff"), "") << first;
  EXPECT_EQ(color_of(first, "keydiff"), color_of(second, "keydiff")) << first << second;
  EXPECT_EQ(color_of(first, "oracle (ceiling)"), "#000000");
  EXPECT_EQ(color_of(second, "oracle (ceiling)"), "#000000");
  // within a figure every policy is told apart
  std::set<std::string> colors;
  for (const char* p : {"h2o", "keydiff", "snapkv:window=32", "snapkv"}) colors.insert(color_of(second, p));
  EXPECT_EQ(colors.size(), 4u) << second;
}

}  // namespace kvsim::test

namespace kvsim::test {

TEST(PolicyColors, FixedForKnownPoliciesShadedForVariantsStableForUnknownNames) {
  EXPECT_EQ(plot::policy_color("oracle"), "#000000");
  EXPECT_EQ(plot::policy_color("keydiff"), "#0072B2");
  EXPECT_EQ(plot::policy_color("knorm"), "#D55E00");
  const char* known[] = {"full", "random", "streamingllm", "knorm", "keydiff", "snapkv", "tova", "h2o", "laprox", "oracle"};
  std::set<std::string> distinct;
  for (const char* p : known) distinct.insert(plot::policy_color(p));
  EXPECT_EQ(distinct.size(), std::size(known));
  // a variant: a different colour from its base, the same on every call
  const std::string w32 = plot::policy_color("snapkv:window=32");
  EXPECT_NE(w32, plot::policy_color("snapkv"));
  EXPECT_EQ(w32, plot::policy_color("snapkv:window=32"));
  EXPECT_EQ(plot::policy_color("my_policy"), plot::policy_color("my_policy"));
  for (const std::string c : {w32, plot::policy_color("my_policy"), plot::policy_color("oracle:x=1")})
    EXPECT_TRUE(std::regex_match(c, std::regex("#[0-9A-F]{6}"))) << c;
  EXPECT_NE(plot::policy_color("oracle:x=1"), "#000000");
}

}  // namespace kvsim::test
