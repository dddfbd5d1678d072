// kvsim replay / sweep / policies / bench, run as a user would.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "policies/policy.hpp"
#include "sim/engine/bench_engine.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

std::string make_dump(const ScratchDir& dir, const std::string& extra = "") {
  return synth_small_dump(dir, "--context-len 128 " + extra);
}

TEST(EngineCli, UnknownPolicyListsValidNames) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const auto r = run_kvsim("replay --dump " + dump + " --policy nosuch --budget 0.25 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  for (const auto& p : policy_registry()) EXPECT_NE(r.err.find(p.name), std::string::npos) << p.name;
  EXPECT_NE(r.err.find("nosuch"), std::string::npos);
}

TEST(EngineCli, BadPolicyParametersNameTheParameter) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  auto r = run_kvsim("replay --dump " + dump + " --policy snapkv:kernel=4 --budget 16 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kernel"), std::string::npos) << r.err;
  r = run_kvsim("replay --dump " + dump + " --policy snapkv:window=500 --budget 16 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("window"), std::string::npos) << r.err;
  r = run_kvsim("replay --dump " + dump + " --policy knorm:foo=1 --budget 16 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("foo"), std::string::npos) << r.err;
  r = run_kvsim("replay --dump " + dump + " --policy knorm --budget 2.5 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--budget"), std::string::npos) << r.err;
}

TEST(EngineCli, LaproxWithoutOprojFailsClearly) {
  ScratchDir dir;
  const std::string dump = make_dump(dir, "--no-o-proj");
  const auto r = run_kvsim("replay --dump " + dump + " --policy laprox --budget 0.25 --out " + dir.file("o"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("o_proj"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("o/results.csv")));
  // `sweep --policies all` skips laprox with a note and runs the rest
  const auto s = run_kvsim("sweep --dump " + dump + " --budgets 0.25 --out " + dir.file("s"));
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.err.find("skipping laprox"), std::string::npos);
}

TEST(EngineCli, ReplayWritesResultsAndRunJsonDeterministically) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string args = "replay --dump " + dump +
                           " --policy snapkv:window=16,kernel=3 --budget 0.25 --block 32 --sinks 2 --quiet --out ";
  auto r = run_kvsim(args + dir.file("a"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_kvsim(args + dir.file("b") + " --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a = read_text(dir.file("a/results.csv")), b = read_text(dir.file("b/results.csv"));
  EXPECT_EQ(a, b);
  std::istringstream in(a);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "dump,policy,budget,budget_ratio,block,layer,head,metric,value");
  std::getline(in, line);
  EXPECT_EQ(line.rfind("d.h5,\"snapkv:window=16,kernel=3\",32,0.25,32,0,0,attn_recall,", 0), 0u) << line;
  int rows = 0;
  std::set<std::string> metrics;
  while (std::getline(in, line)) {
    ++rows;
    metrics.insert(line.substr(line.rfind(',', line.rfind(',') - 1) + 1,
                               line.rfind(',') - line.rfind(',', line.rfind(',') - 1) - 1));
  }
  // per layer: 5 per-head metrics x 4 heads + layer_out_err + 5 x {mean,p50,p95,min}
  EXPECT_EQ(rows + 1, 2 * (5 * 4 + 1 + 20));
  for (const char* m : {"attn_recall", "topk_recall", "oracle_gap", "head_out_err", "kept_fraction",
                        "layer_out_err", "attn_recall_mean", "attn_recall_p95", "head_out_err_min"})
    EXPECT_TRUE(metrics.count(m)) << m;
  const auto j = nlohmann::json::parse(read_text(dir.file("a/run.json")));
  EXPECT_EQ(j["policies"][0]["params"]["window"], "16");
  EXPECT_EQ(j["policies"][0]["params"]["kernel"], "3");
  EXPECT_EQ(j["options"]["sinks"], 2);
  EXPECT_EQ(j["dump"]["attrs"]["n_layers"], 2);
  EXPECT_GT(j["dump"]["size_bytes"].get<long>(), 0);
  EXPECT_TRUE(j.contains("wall_seconds"));
  EXPECT_TRUE(j.contains("git_revision"));
}

TEST(EngineCli, SweepAllHasEveryRow) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const auto r = run_kvsim("sweep --dump " + dump + " --policies all --budgets 0.05,0.1,0.25,0.5 --out " +
                           dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("attn_recall"), std::string::npos);  // summary table
  const std::string csv = read_text(dir.file("o/results.csv"));
  std::set<std::string> keys;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    keys.insert(line.substr(0, line.rfind(',')));
  }
  const int n_pol = static_cast<int>(parse_policy_list("all").size());
  EXPECT_EQ(rows, n_pol * 4 * 2 * (5 * 4 + 1 + 20));
  EXPECT_EQ(static_cast<int>(keys.size()), rows);  // no duplicate (policy, budget, layer, head, metric)
}

TEST(EngineCli, PoliciesListsEveryPolicyWithDefaults) {
  const auto r = run_kvsim("policies");
  ASSERT_EQ(r.exit_code, 0);
  for (const auto& p : policy_registry()) {
    EXPECT_NE(r.out.find(p.name), std::string::npos);
    for (const auto& d : p.params) EXPECT_NE(r.out.find(d.name + "=" + d.default_value), std::string::npos);
  }
}

// Without --policies the bench runs every policy that needs no extra input
// (it once named the bare allocator per_layer and stopped with a usage error).
TEST(EngineCli, BenchWithoutPoliciesRunsEveryStandalonePolicy) {
  const auto r = run_kvsim("bench --small --context 128 --future 16 --budget 32 --block 32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* label : {"h2o", "adakv(snapkv)", "chunkkv(snapkv)", "simlayerkv", "expected_attention"})
    EXPECT_NE(r.out.find(label), std::string::npos) << label << "\n" << r.out;
}

// kvsim bench's per-policy peak RSS: the mark is reset between policies, so
// one policy's peak does not carry into the next row.
TEST(EngineCli, PeakRssMarkResetsBetweenPolicies) {
  if (!reset_peak_rss()) GTEST_SKIP() << "the kernel refuses to reset the peak RSS (/proc/self/clear_refs)";
  long with_big = 0;
  {
    std::vector<char> big(std::size_t(256) << 20);
    for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = 1;  // touch every page
    with_big = peak_rss_since_reset_kb();
    EXPECT_GE(with_big, 256 * 1024);
  }
  ASSERT_TRUE(reset_peak_rss());
  EXPECT_LT(peak_rss_since_reset_kb(), with_big - 200 * 1024) << "the 256 MiB peak was not forgotten";
}

TEST(EngineCli, BenchSmallRuns) {
  const auto r = run_kvsim("bench --small --context 256 --future 32 --budget 64 --block 32 --policies knorm,h2o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("GFLOP/s"), std::string::npos);
  EXPECT_NE(r.out.find("peak RSS"), std::string::npos);
  EXPECT_NE(r.out.find("h2o"), std::string::npos);
}

}  // namespace
}  // namespace kvsim::test
