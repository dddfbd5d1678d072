// replay/sweep options that used to produce wrong or duplicated numbers with
// exit 0 (issue 9): repeated policies, parameters and budgets, odd budget
// numerals, budgets above the context, ignored or negative options, and
// degenerate policy settings. Each ends in a usage error naming the option, or
// in a correct result plus a warning on stderr that run.json records.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support.hpp"

namespace kvsim::test {
namespace {

// C = 128 context tokens of T = 160.
std::string make_dump(const ScratchDir& dir, const std::string& extra = "--context-len 128") {
  return synth_small_dump(dir, extra);
}

void expect_usage_error(const CommandResult& r, std::initializer_list<std::string> words) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const auto& w : words) EXPECT_NE(r.err.find(w), std::string::npos) << "missing '" << w << "' in: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

nlohmann::json warnings_of(const std::string& out) {
  return nlohmann::json::parse(read_text(out + "/run.json")).at("warnings");
}

bool has_code(const nlohmann::json& warnings, const std::string& code) {
  for (const auto& w : warnings)
    if (w.at("code") == code) return true;
  return false;
}

TEST(SweepOptions, RepeatedPoliciesAreUsageErrorsNamingBothSpellings) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string base = "sweep --dump " + dump + " --budgets 0.25 --quiet --out " + dir.file("o") + " --policies ";
  expect_usage_error(run_kvsim(base + "knorm,h2o,knorm"), {"--policies", "'knorm'", "twice"});
  // the same policy once with defaults implicit, once explicit
  expect_usage_error(run_kvsim(base + "'snapkv;snapkv:window=64'"), {"--policies", "'snapkv'", "'snapkv:window=64'"});
}

TEST(SweepOptions, RepeatedPolicyParameterIsAUsageError) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  expect_usage_error(run_kvsim("replay --dump " + dump + " --policy snapkv:window=3,window=5 --budget 16 --out " +
                               dir.file("o")),
                     {"snapkv", "'window'", "twice"});
}

TEST(SweepOptions, BudgetsEqualAfterResolutionAreUsageErrorsNamingBothSpellings) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string base = "sweep --dump " + dump + " --policies knorm --quiet --out " + dir.file("o") + " --budgets ";
  expect_usage_error(run_kvsim(base + "0.25,0.25"), {"--budgets", "'0.25'", "32"});
  expect_usage_error(run_kvsim(base + "64,0.5"), {"--budgets", "'64'", "'0.5'", "64 of the 128"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("o/results.csv")));
}

TEST(SweepOptions, OddBudgetNumeralsAreRejected) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  for (const std::string b : {"0x10", "inf", "nan", "+16", "' 16'", "'16 '", "1e3", "1e-1", "16.", "0.5.5", "-0.5"}) {
    const auto r = run_kvsim("replay --dump " + dump + " --policy knorm --quiet --out " + dir.file("o") +
                             " --budget " + b);
    EXPECT_EQ(r.exit_code, 2) << b << ": " << r.err;
    EXPECT_NE(r.err.find("--budget"), std::string::npos) << r.err;
  }
  // the documented grammar still works: integers and decimal fractions
  for (const std::string b : {"16", "0.125", ".125", "1.0"}) {
    const auto r = run_kvsim("replay --dump " + dump + " --policy knorm --quiet --out " + dir.file("o" + b) +
                             " --budget " + b);
    EXPECT_EQ(r.exit_code, 0) << b << ": " << r.err;
  }
}

TEST(SweepOptions, BudgetAboveTheContextWarnsAndRecordsTheTokensUsed) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  const auto r = run_kvsim("replay --dump " + dump + " --policy knorm --budget 1000 --quiet --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("kvsim replay: warning: --budget 1000: keeps all 128 context tokens"), std::string::npos)
      << r.err;
  const auto run = nlohmann::json::parse(read_text(out + "/run.json"));
  EXPECT_EQ(run.at("budgets").at(0).at("tokens"), 128);
  EXPECT_TRUE(has_code(run.at("warnings"), "budget_above_context")) << run.at("warnings");
  // results.csv's budget column holds the tokens actually kept
  std::istringstream csv(read_text(out + "/results.csv"));
  std::string line;
  std::getline(csv, line);
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("d.h5,knorm,128,1,128,0,0,attn_recall,1", 0), 0u) << line;
}

TEST(SweepOptions, WindowIgnoredBecauseOfContextLenWarns) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string cmd = "replay --dump " + dump + " --policy knorm --budget 16 --quiet --out ";
  auto r = run_kvsim(cmd + dir.file("a") + " --window 16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("kvsim replay: warning: --window 16 is ignored: the dump has context_len=128"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(has_code(warnings_of(dir.file("a")), "window_ignored"));
  r = run_kvsim(cmd + dir.file("b"));  // the default is not "given"
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_TRUE(warnings_of(dir.file("b")).empty());
}

TEST(SweepOptions, NegativeSeedIsAUsageErrorNotAWrappedNumber) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  expect_usage_error(run_kvsim("replay --dump " + dump + " --policy random --budget 16 --seed -1 --out " +
                               dir.file("o")),
                     {"--seed", "-1"});
  expect_usage_error(run_kvsim("replay --dump " + dump + " --policy random --budget 16 --window -5 --out " +
                               dir.file("o")),
                     {"--window", "-5"});
}

TEST(SweepOptions, SnapkvWithBudgetWithinItsWindowWarns) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  const auto r = run_kvsim("sweep --dump " + dump + " --policies snapkv:window=32 --budgets 16,64 --quiet --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("kvsim sweep: warning: snapkv:window=32 at budget 16"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("most recent"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("at budget 64"), std::string::npos) << r.err;  // N > window: a real SnapKV selection
  const auto w = warnings_of(out);
  ASSERT_EQ(w.size(), 1u) << w;
  EXPECT_EQ(w[0].at("code"), "snapkv_window_covers_budget");
  EXPECT_EQ(w[0].at("policy"), "snapkv:window=32");
  EXPECT_EQ(w[0].at("budget"), 16);
}

}  // namespace
}  // namespace kvsim::test
