// kvsim evaluate: the next-token divergence on paper, a compressed cache that
// keeps everything gives the full cache's bits, KL shrinks as the budget grows
// on both shared models, and validity.csv agrees with a recomputation from
// evaluate.csv and results.csv.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "analysis/next_token_divergence.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/rank_statistics.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"
#include "io/kvdump.hpp"
#include "io/model/load_model.hpp"
#include "sim/model/continuation.hpp"
#include "tests/model_support.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

// full logits (0, ln 2): p = (1/3, 2/3); compressed (0, 0): q = (1/2, 1/2).
// KL(p||q) = 1/3 ln(2/3) + 2/3 ln(4/3); argmax 1 vs 0 (first maximum);
// the next token 1: ln(1/2) - ln(2/3) = ln(3/4).
TEST(Evaluate, NextTokenDivergenceHandComputed) {
  const std::vector<float> full = {0.f, float(std::log(2.0)), 5.f, 1.f};
  const std::vector<float> comp = {0.f, 0.f, 5.f, 1.f};
  const auto d = analysis::next_token_divergence(full, comp, 2, 2, {1, -1});
  EXPECT_NEAR(d.kl[0], std::log(2.0 / 3) / 3 + 2 * std::log(4.0 / 3) / 3, 1e-7);
  EXPECT_EQ(d.top1_agree[0], 0.0);
  EXPECT_NEAR(d.delta_logp[0], std::log(0.75), 1e-7);
  EXPECT_EQ(d.kl[1], 0.0);  // equal rows: exactly 0
  EXPECT_EQ(d.top1_agree[1], 1.0);
  EXPECT_TRUE(std::isnan(d.delta_logp[1]));
}

// A mask that keeps everything is the full cache, bit for bit; removing the
// context from every head changes the logits.
TEST(Evaluate, AMaskKeepingEverythingGivesTheFullCachesBits) {
  KVSIM_REQUIRE_SHARED_MODEL(dir, "tinystories-656k");
  const LoadedModel model = load_model(dir, 0);
  std::vector<int> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back(1 + (i * 37) % 500);
  const Continuation c(model, tokens, 30);
  ContextMask all;
  all.context_len = 30;
  all.kept.assign(model.config.n_layers,
                  std::vector<std::vector<char>>(model.config.n_kv_heads, std::vector<char>(30, 1)));
  EXPECT_EQ(c.logits(nullptr), c.logits(&all));
  ContextMask none = all;
  for (auto& layer : none.kept)
    for (auto& head : layer) head.assign(30, 0);
  EXPECT_NE(c.logits(nullptr), c.logits(&none));
}

std::map<std::string, double> mean_kl_by_item(const std::string& evaluate_csv) {
  const auto t = analysis::CsvTable::read(evaluate_csv);
  std::map<std::string, double> out;
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (t.number(r, t.column("position")) == -1 && t.text(r, t.column("metric")) == "kl")
      out[t.text(r, t.column("policy")) + "@" + t.text(r, t.column("budget"))] = t.number(r, t.column("value"));
  return out;
}

// On both shared models: budget >= C (and full) give KL exactly 0 and top-1
// agreement 1 at every position; each policy's KL at 10 % is above its KL at
// 50 %; validity.csv's attn_recall correlation is the one recomputed from
// evaluate.csv and results.csv.
TEST(Evaluate, BothSharedModelsKlVanishesAtFullBudgetAndGrowsAsTheBudgetShrinks) {
  const std::string models = shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "the real-model tests need ../shared/data/models";
  for (const std::string folder : {"tinystories-656k", "stories260K"}) {
    ScratchDir dir;
    const std::string out = dir.file("ev");
    const auto r = run_kvsim("evaluate --model " + models + "/" + model_path_for(folder) + " --prompt-file " +
                             std::string(KVSIM_SOURCE_DIR) + "/data/corpus/prompts/story_boat.txt --context-len 150 " +
                             "--policies h2o,snapkv,keydiff,full --budgets 0.1,0.5,1.0 --out " + out);
    ASSERT_EQ(r.exit_code, 0) << folder << ": " << r.err;
    const auto t = analysis::CsvTable::read(out + "/evaluate.csv");
    int checked = 0;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      const bool everything = t.text(i, t.column("policy")) == "full" || t.text(i, t.column("budget")) == "150";
      if (!everything) continue;
      const std::string metric = t.text(i, t.column("metric"));
      if (metric == "kl") EXPECT_EQ(t.number(i, t.column("value")), 0.0) << folder;
      if (metric == "top1_agree") EXPECT_EQ(t.number(i, t.column("value")), 1.0) << folder;
      ++checked;
    }
    EXPECT_GT(checked, 100) << folder;
    const auto kl = mean_kl_by_item(out + "/evaluate.csv");
    for (const char* policy : {"h2o", "snapkv", "keydiff"}) {
      EXPECT_GT(kl.at(std::string(policy) + "@15"), kl.at(std::string(policy) + "@75")) << folder << " " << policy;
      EXPECT_GT(kl.at(std::string(policy) + "@75"), 0.0) << folder << " " << policy;
    }
    // validity: Spearman of item-level mean attn_recall (per-head rows) with mean KL,
    // items that keep everything left out
    const auto res = analysis::CsvTable::read(out + "/results.csv");
    std::map<std::string, std::pair<double, int>> recall;
    for (std::size_t i = 0; i < res.rows(); ++i)
      if (res.text(i, res.column("metric")) == "attn_recall" && res.number(i, res.column("head")) >= 0) {
        auto& a = recall[res.text(i, res.column("policy")) + "@" + res.text(i, res.column("budget"))];
        a.first += res.number(i, res.column("value"));
        a.second += 1;
      }
    std::vector<double> x, y;
    for (const auto& [key, a] : recall)
      if (key.rfind("full@", 0) != 0 && key.find("@150") == std::string::npos) {
        x.push_back(a.first / a.second);
        y.push_back(kl.at(key));
      }
    const auto v = analysis::CsvTable::read(out + "/validity.csv");
    bool found = false;
    for (std::size_t i = 0; i < v.rows(); ++i)
      if (v.text(i, v.column("metric")) == "attn_recall" && v.number(i, v.column("layer")) == -1) {
        EXPECT_EQ(v.number(i, v.column("n_pairs")), double(x.size())) << folder;
        EXPECT_NEAR(v.number(i, v.column("spearman")), analysis::spearman(x, y), 1e-8) << folder;
        found = true;
      }
    EXPECT_TRUE(found) << folder;
  }
}

// plot validity: the title's Spearman rho is validity.csv's for that metric.
TEST(Evaluate, ValidityFigureStatesTheCorrelationOfValidityCsv) {
  const std::string models = shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "the real-model tests need ../shared/data/models";
  ScratchDir dir;
  const auto r = run_kvsim("evaluate --model " + models + "/tinystories-656k --prompt-file " +
                           std::string(KVSIM_SOURCE_DIR) + "/data/corpus/prompts/list_toys.txt --context-len 120 " +
                           "--policies h2o,keydiff,knorm,random,full --budgets 0.05,0.2,0.5,1.0 --out " + dir.file("ev"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  plot::ValidityPlotOptions o;
  o.evaluate = dir.file("ev/evaluate.csv");
  o.results = dir.file("ev/results.csv");
  o.metric = "layer_out_err";
  o.figure.out_dir = dir.file("fig");
  const auto files = plot::plot_validity(o);
  const auto v = analysis::CsvTable::read(dir.file("ev/validity.csv"));
  for (std::size_t i = 0; i < v.rows(); ++i)
    if (v.text(i, v.column("metric")) == "layer_out_err" && v.number(i, v.column("layer")) == -1) {
      char text[64];
      std::snprintf(text, sizeof text, "Spearman ρ %.2f", v.number(i, v.column("spearman")));
      EXPECT_NE(files.script.find(text), std::string::npos) << text << "\n" << files.script;
      EXPECT_NE(files.script.find("12 (policy, budget) items, 8 keeping all left out"), std::string::npos)
          << files.script;
    }
  // a results.csv of several dumps beside it is refused, not pooled into each point
  const std::string rows = read_text(dir.file("ev/results.csv"));
  std::string other = rows.substr(rows.find('\n') + 1);
  for (std::size_t at = 0; (at = other.find('\n', at)) != std::string::npos; ++at)
    if (at + 1 < other.size()) other.insert(at + 1, "x");
  std::ofstream(dir.file("ev/results.csv")) << rows << "x" << other;
  EXPECT_THROW(plot::plot_validity(o), InputError);
}

// evaluate --kept: the kept sets a sweep saved on a capture of these tokens
// (one prefill, f32: the tensors evaluate computes itself) give the bytes of
// evaluate replaying the same policies; a kept.h5 of another dump is refused.
TEST(Evaluate, KeptFileOfTheSameTokensGivesTheBytesOfReplayingThePolicies) {
  const std::string models = shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "the real-model tests need ../shared/data/models";
  ScratchDir dir;
  std::string ids;
  for (int t : DumpReader(std::string(KVSIM_SOURCE_DIR) + "/data/tinystories656k-kite.h5").tokens())
    ids += std::to_string(t) + " ";
  std::ofstream(dir.file("ids.txt")) << ids << "\n";
  const std::string model = models + "/tinystories-656k";
  auto r = run_kvsim("capture --model " + model + " --tokens-file " + dir.file("ids.txt") +
                     " --context-len 277 --generate 0 --out " + dir.file("d.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_kvsim("sweep -q --dump " + dir.file("d.h5") + " --policies h2o,snapkv --budgets 0.1,0.5 --save-kept --out " +
                dir.file("s"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_kvsim("evaluate --model " + model + " --dump " + dir.file("d.h5") + " --kept " + dir.file("s/kept.h5") +
                " --out " + dir.file("k"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_kvsim("evaluate --model " + model + " --tokens-file " + dir.file("ids.txt") +
                " --context-len 277 --policies h2o,snapkv --budgets 0.1,0.5 --out " + dir.file("e"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(read_text(dir.file("k/evaluate.csv")) == read_text(dir.file("e/evaluate.csv")))
      << "evaluate --kept differs from evaluate replaying the policies";
  EXPECT_FALSE(std::filesystem::exists(dir.file("k/validity.csv")));
  r = run_kvsim("evaluate --model " + model + " --dump " + std::string(KVSIM_SOURCE_DIR) +
                "/data/tinystories656k-kite.h5 --kept " + dir.file("s/kept.h5") + " --out " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds the kept sets of dump 'd.h5'"), std::string::npos) << r.err;
}

TEST(Evaluate, BadUsageNamesTheOption) {
  const std::string models = shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "the real-model tests need ../shared/data/models";
  ScratchDir dir;
  auto r = run_kvsim("evaluate --model " + models + "/tinystories-656k --prompt-file " + std::string(KVSIM_SOURCE_DIR) +
                     "/data/corpus/prompts/story_boat.txt --context-len 100000 --budgets 0.1 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--context-len 100000"), std::string::npos) << r.err;
  r = run_kvsim("evaluate --model " + models + "/tinystories-656k --context-len 10 --budgets 0.1 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exactly one of --tokens-file and --prompt-file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvsim::test
