// The notebook programs (notebooks_cpp/) end to end on the bundled real dump:
// each must exit 0, write its figures, and report numbers that agree with an
// independent recomputation (through the analysis library or from the
// results.csv it wrote) and with the invariants of the question it answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "analysis/diversity_correlation.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/kvdump.hpp"
#include "policies/policy.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

namespace fs = std::filesystem;

const std::string kBundledDump = std::string(KVSIM_SOURCE_DIR) + "/data/tinystories656k-kite.h5";

struct NotebookRun {
  CommandResult command;
  nlohmann::json summary;
  std::string report;
};

// Runs build/nb_<name> with --out DIR and reads its summary.json and report.md.
NotebookRun run_notebook(const std::string& name, const std::string& out_dir, const std::string& args = "") {
  NotebookRun run;
  run.command = run_shell(std::string(KVSIM_BUILD_DIR) + "/nb_" + name + " --out " + out_dir + " " + args);
  if (run.command.exit_code == 0) {
    run.summary = nlohmann::json::parse(read_text(out_dir + "/summary.json"));
    run.report = read_text(out_dir + "/report.md");
  }
  return run;
}

void expect_figure(const std::string& out_dir, const std::string& name) {
  for (const char* ext : {".png", ".svg"}) {
    const fs::path path = fs::path(out_dir) / (name + ext);
    EXPECT_TRUE(fs::exists(path) && fs::file_size(path) > 1000) << path;
  }
}

// "%.3f" as the reports print it.
std::string three_decimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Mean of `metric` per (policy, budget tokens) over results.csv rows, per-head
// rows (head >= 0) or layer-level rows (head -1).
std::map<std::pair<std::string, int>, double> results_means(const std::string& path, const std::string& metric,
                                                            bool layer_level) {
  const auto t = analysis::CsvTable::read(path);
  std::map<std::pair<std::string, int>, std::pair<double, int>> acc;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.text(r, t.column("metric")) != metric) continue;
    if ((t.number(r, t.column("head")) < 0) != layer_level) continue;
    auto& a = acc[{t.text(r, t.column("policy")), int(t.number(r, t.column("budget")))}];
    a.first += t.number(r, t.column("value"));
    ++a.second;
  }
  std::map<std::pair<std::string, int>, double> out;
  for (const auto& [key, a] : acc) out[key] = a.first / a.second;
  return out;
}

}  // namespace

TEST(Notebooks, KeyDiffClaimReportsTheCorrelationsTheLibraryComputes) {
  ScratchDir dir;
  const auto run = run_notebook("keydiff_claim", dir.file("nb"));
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;

  // Recompute the pooled summary straight from the dump.
  DumpReader dump(kBundledDump);
  std::vector<analysis::HeadCorrelation> heads;
  for (int l = 0; l < dump.attrs().n_layers; ++l) {
    const LayerTensors t = dump.read_layer(l);
    const auto layer = analysis::correlate_layer(t.q, t.k, *dump.attrs().context_len, dump.attrs().scale(), l);
    heads.insert(heads.end(), layer.begin(), layer.end());
  }
  ASSERT_EQ(run.summary["heads"].size(), heads.size());
  for (const char* score : {analysis::kScoreKeyDiff, analysis::kScoreKNorm}) {
    const auto expected = analysis::summarize(heads, score);
    const auto& pooled = run.summary["pooled"][score];
    EXPECT_NEAR(pooled["mean_rho"].get<double>(), expected.mean_rho, 1e-7) << score;
    EXPECT_NEAR(pooled["median_rho"].get<double>(), expected.median_rho, 1e-7) << score;
    EXPECT_NEAR(pooled["share_rho_positive"].get<double>(), expected.share_rho_positive, 1e-9) << score;
    EXPECT_NEAR(pooled["mean_pearson_r_log"].get<double>(), expected.mean_pearson_r_log, 1e-7) << score;
    ASSERT_EQ(pooled["bins"].size(), 10u);
    EXPECT_NEAR(pooled["bins"][9]["y_mean"].get<double>(), expected.bins[9].y_mean, 1e-9) << score;
    // The report prints the pooled rho it computed.
    EXPECT_NE(run.report.find("| " + three_decimals(expected.mean_rho) + " | " + three_decimals(expected.median_rho)),
              std::string::npos)
        << score << "\n" << run.report;
  }
  // The verdict is derived from the numbers, and names them.
  const std::string verdict = run.summary["verdict"];
  EXPECT_NE(verdict.find("KeyDiff's claim"), std::string::npos);
  EXPECT_NE(verdict.find(three_decimals(analysis::summarize(heads, analysis::kScoreKeyDiff).mean_rho)),
            std::string::npos) << verdict;
  EXPECT_NE(run.report.find(verdict), std::string::npos);
  EXPECT_NE(run.report.find("tinystories656k-kite.h5 (model TinyStories-656K"), std::string::npos);
  expect_figure(dir.file("nb"), "diversity");
}

TEST(Notebooks, RecallCurvesOracleIsTheCeilingAndTablesMatchResultsCsv) {
  ScratchDir dir;
  const auto run = run_notebook("recall_curves", dir.file("nb"));
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;
  const auto& recall = run.summary["mean_attn_recall"];
  const auto& budgets = run.summary["budgets"];
  ASSERT_EQ(budgets.size(), 7u);  // 1%..50%
  EXPECT_EQ(budgets[0]["tokens"].get<int>(), 2);   // floor(0.01 * 277)
  EXPECT_EQ(budgets[6]["tokens"].get<int>(), 138);  // floor(0.5 * 277)
  ASSERT_TRUE(recall.contains("oracle"));
  EXPECT_FALSE(recall.contains("full"));  // recall 1 by definition, left out
  EXPECT_EQ(recall.size(), parse_policy_list("all").size() - 1);  // every policy of --policies all but full

  const auto csv = results_means(dir.file("nb/results.csv"), "attn_recall", false);
  for (std::size_t b = 0; b < budgets.size(); ++b) {
    const int tokens = budgets[b]["tokens"];
    std::string best;
    for (const auto& [policy, values] : recall.items()) {
      const double v = values[b];
      EXPECT_NEAR(v, csv.at({policy, tokens}), 1e-9) << policy << " at " << tokens;
      EXPECT_GE(recall["oracle"][b].get<double>() + 1e-12, v) << policy << " beats the oracle at " << tokens;
      if (policy != "oracle" && (best.empty() || v > recall[best][b].get<double>())) best = policy;
    }
    EXPECT_EQ(run.summary["best_per_budget"][b]["policy"], best) << "budget " << tokens;
  }
  // The area ranking is sorted and led by the oracle.
  const auto& ranking = run.summary["area_ranking"];
  EXPECT_EQ(ranking[0]["policy"], "oracle");
  for (std::size_t i = 1; i < ranking.size(); ++i)
    EXPECT_GE(ranking[i - 1]["area"].get<double>(), ranking[i]["area"].get<double>());
  EXPECT_NE(run.report.find("| oracle (ceiling) | " + three_decimals(recall["oracle"][0])), std::string::npos)
      << run.report;
  EXPECT_NE(run.report.find(run.summary["verdict"].get<std::string>()), std::string::npos);
  for (const char* figure : {"recall", "layer_error", "heatmap"}) expect_figure(dir.file("nb"), figure);

  // snapkv's default window (64) covers the budgets up to 20 % of this
  // 277-token context, where it keeps exactly the most recent N: the engine's
  // warning must reach stderr, summary.json, run.json and the report.
  bool warned = false;
  for (const auto& w : run.summary["warnings"])
    warned |= w["code"] == "snapkv_window_covers_budget" && w["policy"] == "snapkv";
  EXPECT_TRUE(warned) << run.summary["warnings"].dump();
  EXPECT_NE(run.command.err.find("warning: snapkv"), std::string::npos) << run.command.err;
  EXPECT_NE(read_text(dir.file("nb/run.json")).find("snapkv_window_covers_budget"), std::string::npos);
  EXPECT_NE(run.report.find("## Warnings"), std::string::npos);
}

TEST(Notebooks, LaproxVsHeadwiseKeepsEqualMemoryAndCountsItsWins) {
  ScratchDir dir;
  const auto run = run_notebook("laprox_vs_headwise", dir.file("nb"));
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;
  const int G = run.summary["n_kv_heads"];
  const auto& budgets = run.summary["budgets"];
  const auto& allocation = run.summary["laprox_allocation"];
  ASSERT_EQ(allocation.size(), budgets.size());
  for (std::size_t b = 0; b < budgets.size(); ++b) {
    const int N = budgets[b]["tokens"];
    for (const auto& layer : allocation[b]) {
      const std::vector<int> kept = layer["kept"];
      ASSERT_EQ(int(kept.size()), G);
      int total = 0;
      for (int k : kept) {
        total += k;
        EXPECT_GE(k, N / 5) << "a KV head below the floor(0.2 N) minimum";
      }
      EXPECT_EQ(total, G * N) << "layer " << layer["layer"] << " at N=" << N;
    }
  }
  EXPECT_TRUE(run.summary["equal_memory"].get<bool>());

  // M5 per policy = the mean of results.csv's layer_out_err rows; the wins
  // are counted from those numbers.
  const auto csv = results_means(dir.file("nb/results.csv"), "layer_out_err", true);
  const auto& m5 = run.summary["mean_layer_out_err"];
  ASSERT_EQ(m5.size(), 4u);
  int laprox_lowest = 0;
  for (std::size_t b = 0; b < budgets.size(); ++b) {
    std::string lowest;
    for (const auto& [policy, values] : m5.items()) {
      EXPECT_NEAR(values[b].get<double>(), csv.at({policy, budgets[b]["tokens"].get<int>()}), 1e-9);
      if (lowest.empty() || values[b].get<double>() < m5[lowest][b].get<double>()) lowest = policy;
    }
    laprox_lowest += lowest == "laprox";
  }
  EXPECT_EQ(run.summary["laprox_lowest_at"].get<int>(), laprox_lowest);
  EXPECT_NE(run.report.find("laprox has the lowest M5 at " + std::to_string(laprox_lowest) + " of " +
                            std::to_string(budgets.size()) + " budgets"),
            std::string::npos)
      << run.report;
  EXPECT_EQ(analysis::CsvTable::read(dir.file("nb/kept_fractions.csv")).rows(),
            budgets.size() * allocation[0].size() * G);
  for (const char* figure : {"layer_error", "laprox_allocation"}) expect_figure(dir.file("nb"), figure);
}

// A synthetic dump without o_proj: recall_curves skips laprox and the M5
// figure; laprox_vs_headwise stops with a clear error (exit 1).
TEST(Notebooks, DumpWithoutOProj) {
  ScratchDir dir;
  const auto synth = run_kvsim("synth --out " + dir.file("d.h5") +
                               " --layers 2 --tokens 256 --heads 4 --kv-heads 2 --head-dim 16 --no-o-proj");
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto recall = run_notebook("recall_curves", dir.file("r"), "--dump " + dir.file("d.h5") + " --budgets 0.1,0.5");
  ASSERT_EQ(recall.command.exit_code, 0) << recall.command.err;
  EXPECT_FALSE(recall.summary["mean_attn_recall"].contains("laprox"));
  EXPECT_NE(recall.command.err.find("skipping laprox"), std::string::npos) << recall.command.err;
  EXPECT_FALSE(fs::exists(dir.file("r/layer_error.png")));
  EXPECT_EQ(recall.summary["budgets"].size(), 2u);

  const auto laprox = run_notebook("laprox_vs_headwise", dir.file("l"), "--dump " + dir.file("d.h5"));
  EXPECT_EQ(laprox.command.exit_code, 1);
  EXPECT_NE(laprox.command.err.find("o_proj"), std::string::npos) << laprox.command.err;
}

// A notebook on a corpus: each dump's own report in per_dump/<d>/ (the same
// numbers as the notebook run on that dump alone), and summary.json's corpus
// numbers are the mean over those dumps, with n and an interval around it.
TEST(Notebooks, OnACorpusEachDumpsReportAndMeansOverDumps) {
  ScratchDir dir;
  const std::string corpus = std::string(KVSIM_SOURCE_DIR) + "/data/corpus/";
  const std::string a = corpus + "stories260k-list_days.h5", b = corpus + "tinystories656k-list_days.h5";
  const auto run = run_notebook("keydiff_claim", dir.file("nb"), "--dump " + a + " --dump " + b);
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;
  const auto alone = run_notebook("keydiff_claim", dir.file("alone"), "--dump " + b);
  ASSERT_EQ(alone.command.exit_code, 0) << alone.command.err;
  const auto per_dump = nlohmann::json::parse(read_text(dir.file("nb/per_dump/1/summary.json")));
  EXPECT_EQ(per_dump["pooled"], alone.summary["pooled"]);
  const auto first = nlohmann::json::parse(read_text(dir.file("nb/per_dump/0/summary.json")));
  EXPECT_EQ(run.summary["corpus"]["n_dumps"], 2);
  const auto& rho = run.summary["numbers"]["pooled/keydiff/mean_rho"];
  const double x = first["pooled"]["keydiff"]["mean_rho"], y = per_dump["pooled"]["keydiff"]["mean_rho"];
  EXPECT_EQ(rho["n"], 2);
  EXPECT_NEAR(rho["mean"].get<double>(), (x + y) / 2, 1e-12);
  EXPECT_NEAR(rho["min"].get<double>(), std::min(x, y), 1e-12);
  EXPECT_LE(rho["ci_lo"].get<double>(), rho["mean"].get<double>());
  EXPECT_GE(rho["ci_hi"].get<double>(), rho["mean"].get<double>());
  // per-head numbers name different heads in the two models: left out
  for (const auto& [key, value] : run.summary["numbers"].items()) EXPECT_NE(key.rfind("heads/", 0), 0u) << key;
  EXPECT_NE(run.report.find("corpus of n = 2 dumps"), std::string::npos);
  EXPECT_NE(run.report.find("per_dump/1/report.md"), std::string::npos);
  expect_figure(dir.file("nb/per_dump/0"), "diversity");
}

// nb_offline_validity: its table is validity.csv's (layer -1), its verdict
// names the metric with the strongest signed correlation, and full / budgets
// >= C are not among the items.
TEST(Notebooks, OfflineValidityReportsTheCorrelationsOfItsValidityCsv) {
  if (std::string(KVSIM_SHARED_MODELS).empty() || !fs::exists(KVSIM_SHARED_MODELS))
    GTEST_SKIP() << "needs ../shared/data/models";
  ScratchDir dir;
  const auto run = run_notebook("offline_validity", dir.file("nb"), "--policies h2o,keydiff,knorm,snapkv,full --budgets 0.05,0.2,0.5");
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;
  EXPECT_EQ(run.summary["items"].get<int>(), 12);  // 4 compressing policies x 3 budgets
  const auto v = analysis::CsvTable::read(dir.file("nb/validity.csv"));
  double best = -2;
  std::string best_metric;
  for (std::size_t i = 0; i < v.rows(); ++i) {
    if (v.number(i, v.column("layer")) != -1) continue;
    const std::string metric = v.text(i, v.column("metric"));
    const double rho = v.number(i, v.column("spearman"));
    EXPECT_NEAR(run.summary["spearman"][metric].get<double>(), rho, 1e-8) << metric;
    const double strength = metric == "attn_recall" || metric == "topk_recall" ? -rho : rho;
    if (strength > best) best = strength, best_metric = metric;
  }
  EXPECT_EQ(run.summary["best_predictor"], best_metric);
  EXPECT_NE(run.report.find(run.summary["verdict"].get<std::string>()), std::string::npos);
  expect_figure(dir.file("nb"), "validity_layer_out_err");
}

TEST(Notebooks, BadOptionsAreUsageErrors) {
  ScratchDir dir;
  const auto bad_budget = run_notebook("recall_curves", dir.file("o"), "--budgets 2.5x");
  EXPECT_EQ(bad_budget.command.exit_code, 2);
  EXPECT_NE(bad_budget.command.err.find("--budget"), std::string::npos) << bad_budget.command.err;
  const auto unknown = run_notebook("keydiff_claim", dir.file("o"), "--no-such-option");
  EXPECT_EQ(unknown.command.exit_code, 2);
  const auto missing = run_notebook("keydiff_claim", dir.file("o"), "--dump " + dir.file("missing.h5"));
  EXPECT_EQ(missing.command.exit_code, 1);
  EXPECT_NE(missing.command.err.find("missing.h5"), std::string::npos) << missing.command.err;
}

}  // namespace kvsim::test
