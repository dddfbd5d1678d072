// Bad input to replay/sweep: each class is rejected with the documented exit
// code and a message naming what is wrong (docs/ROBUSTNESS.md, the table).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/kvdump.hpp"
#include "tests/engine_util.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

constexpr int kL = 2, kH = 4, kG = 2, kD = 8, kT = 48, kC = 40, kHidden = 16;

// A small dump; `edit(layer, tensors)` may damage a layer before it is written.
std::string write_dump(const ScratchDir& dir, const std::string& name,
                       const std::function<void(int, LayerTensors&)>& edit = {},
                       bool with_context_len = true) {
  DumpAttrs a = tiny_attrs(kL, kH, kG, kD, kT, kC, kHidden, 1.0 / std::sqrt(double(kD)));
  if (!with_context_len) a.context_len.reset();
  const std::string path = dir.file(name);
  DumpWriter w(path, a);
  std::vector<int> ids(kT);
  for (int i = 0; i < kT; ++i) ids[i] = i;
  w.write_tokens(ids);
  for (int l = 0; l < kL; ++l) {
    LayerTensors x = random_layer(kH, kG, kD, kT, kHidden, 100 + l);
    if (edit) edit(l, x);
    w.write_layer(l, x);
  }
  w.finish();
  return path;
}

void expect_words(const CommandResult& r, int code, std::initializer_list<const char*> words) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  for (const char* w : words) EXPECT_NE(r.err.find(w), std::string::npos) << "missing '" << w << "' in: " << r.err;
  // exactly one error line (a note about kept journal units may precede it)
  std::istringstream lines(r.err);
  int errors = 0;
  for (std::string line; std::getline(lines, line);) errors += line.find("error: ") != std::string::npos;
  EXPECT_EQ(errors, 1) << r.err;
}

std::string sweep(const std::string& dump, const std::string& out, const std::string& extra) {
  return "sweep --dump " + dump + " --out " + out + " --quiet --block 8 " + extra;
}

TEST(RobustInputs, NanInQueriesNamesLayerHeadAndToken) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "nan.h5", [](int l, LayerTensors& x) {
    if (l == 1) x.q(3, 17, 2) = std::numeric_limits<float>::quiet_NaN();
  });
  const auto r = run_kvsim(sweep(dump, dir.file("o"), "--policies knorm --budgets 0.5"));
  expect_words(r, 1, {"nan.h5", "layer 1", "nan in /layers/1/q", "query head 3", "token 17", "--allow-nonfinite"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("o/results.csv")));
  // Layer 0 was finished before layer 1 was read: kept, and resumable with the flag.
  const auto again = run_kvsim(sweep(dump, dir.file("o"), "--policies knorm --budgets 0.5 --resume --allow-nonfinite"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("resumed 1 of 2 units"), std::string::npos) << again.err;
}

TEST(RobustInputs, InfInKeysOrValuesNamesTheKvHead) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "inf.h5", [](int l, LayerTensors& x) {
    if (l == 0) x.v(1, 5, 0) = -std::numeric_limits<float>::infinity();
  });
  const auto r = run_kvsim(sweep(dump, dir.file("o"), "--policies knorm --budgets 0.5"));
  expect_words(r, 1, {"layer 0", "-inf in /layers/0/v", "KV head 1", "token 5"});
}

// --allow-nonfinite drops the affected (layer, KV head): no rows for its query
// heads, no layer_out_err for that layer, a note on stderr and in run.json; the
// other KV head's results are exactly those of the clean dump (knorm is per head).
TEST(RobustInputs, AllowNonfiniteSkipsOnlyTheAffectedUnit) {
  ScratchDir dir;
  const std::string clean = write_dump(dir, "clean.h5");
  const std::string bad = write_dump(dir, "bad.h5", [](int l, LayerTensors& x) {
    if (l == 1) x.k(0, 9, 1) = std::numeric_limits<float>::quiet_NaN();
  });
  const std::string args = "--policies knorm,streamingllm --budgets 0.5";
  ASSERT_EQ(run_kvsim(sweep(clean, dir.file("c"), args)).exit_code, 0);
  const auto r = run_kvsim(sweep(bad, dir.file("b"), args + " --allow-nonfinite"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("skipped layer 1 KV head 0"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(read_text(dir.file("b/run.json")));
  ASSERT_EQ(j["skipped_units"].size(), 1u);
  EXPECT_EQ(j["skipped_units"][0]["layer"], 1);
  EXPECT_EQ(j["skipped_units"][0]["kv_head"], 0);

  // key = policy,budget,layer,head,metric (dump name differs)
  auto rows = [](const std::string& csv) {
    std::map<std::string, std::string> m;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const std::string rest = line.substr(line.find(',') + 1);
      m[rest.substr(0, rest.rfind(','))] = rest.substr(rest.rfind(',') + 1);
    }
    return m;
  };
  const auto c = rows(read_text(dir.file("c/results.csv"))), b = rows(read_text(dir.file("b/results.csv")));
  int compared = 0;
  for (const auto& [key, value] : c) {
    std::string policy, budget, ratio, block, layer, head;
    std::istringstream k(key);
    for (std::string* f : {&policy, &budget, &ratio, &block, &layer, &head}) std::getline(k, *f, ',');
    const bool skipped_head = layer == "1" && (head == "0" || head == "1");
    const bool layer_level = layer == "1" && head == "-1";
    if (skipped_head || (layer_level && key.find("layer_out_err") != std::string::npos)) {
      EXPECT_EQ(b.count(key), 0u) << key;
    } else if (!layer_level) {
      ASSERT_EQ(b.count(key), 1u) << key;
      EXPECT_EQ(b.at(key), value) << key;
      ++compared;
    }
  }
  EXPECT_GT(compared, 0);
  EXPECT_EQ(b.count("knorm,20,0.5,8,0,-1,layer_out_err"), 1u);  // the clean layer keeps it
}

// All-zero keys (and values): cosine-based scores must not divide by zero;
// every policy gives finite results, and keydiff degenerates to all-ties like knorm.
TEST(RobustInputs, AllZeroKeysGiveDefinedResults) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "zero.h5", [](int l, LayerTensors& x) {
    if (l == 0) {
      x.k.fill(0.f);
      x.v.fill(0.f);
    }
  });
  const auto r = run_kvsim(sweep(dump, dir.file("o"),
                                 "--policies full,random,streamingllm,knorm,keydiff,snapkv:window=8,tova,h2o,"
                                 "laprox:window=8,oracle,lagkv:lag_size=4,cur --budgets 0.25"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string csv = read_text(dir.file("o/results.csv"));
  EXPECT_EQ(csv.find("nan"), std::string::npos);
  EXPECT_EQ(csv.find("inf"), std::string::npos);
  // Uniform attention and equal scores: ties keep the latest positions, for both.
  std::map<std::string, std::string> recall;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line))
    if (line.find(",0,0,attn_recall,") != std::string::npos)
      recall[line.substr(line.find(',') + 1, line.find(',', line.find(',') + 1) - line.find(',') - 1)] =
          line.substr(line.rfind(',') + 1);
  ASSERT_TRUE(recall.count("keydiff") && recall.count("knorm"));
  EXPECT_EQ(recall["keydiff"], recall["knorm"]);
  // lagkv and cur (0/0 := 0, kvpress gives nan) degenerate to all-ties too, beyond their sinks
  ASSERT_TRUE(recall.count("lagkv:lag_size=4") && recall.count("cur"));
  EXPECT_EQ(recall["cur"], recall["streamingllm"]);  // 4 sinks + the latest, both
  const double v = std::stod(recall["keydiff"]);
  EXPECT_GT(v, 0.0);
  EXPECT_LE(v, 1.0);
}

TEST(RobustInputs, BudgetsMustBePositiveAndRatiosAtMostOne) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "d.h5");
  const std::string out = dir.file("o");
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 0")), 2, {"--budget '0'", "(0, 1]"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 8,-3")), 2, {"--budget '-3'"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 1.5")), 2,
               {"--budget '1.5'", "ratio must be in (0, 1]"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 0.001")), 2,
               {"--budget 0.001", "keeps 0 of the 40 context tokens"});
}

TEST(RobustInputs, NegativeBlockIsRejected) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "d.h5");
  expect_words(run_kvsim("replay --dump " + dump + " --out " + dir.file("o") +
                         " --policy knorm --budget 8 --block -1"),
               2, {"--block -1", ">= 0"});
}

TEST(RobustInputs, WindowMustLeaveContextWhenDumpHasNoContextLen) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "noctx.h5", {}, false);
  const std::string base = "replay --dump " + dump + " --out " + dir.file("o") + " --policy knorm --budget 8 ";
  expect_words(run_kvsim(base + "--window 48"), 2, {"--window 48", "n_tokens=48", "no context_len"});
  expect_words(run_kvsim(base + "--window 0"), 2, {"--window 0"});
  EXPECT_EQ(run_kvsim(base + "--window 8 --quiet").exit_code, 0);
}

TEST(RobustInputs, UnknownPolicyOrParameterIsAUsageError) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "d.h5");
  const std::string out = dir.file("o");
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm,nosuch --budgets 8")), 2,
               {"unknown policy 'nosuch'", "valid policies:", "snapkv"});
  expect_words(run_kvsim(sweep(dump, out, "--policies snapkv:windw=4 --budgets 8")), 2,
               {"snapkv: unknown parameter 'windw'", "valid: window, kernel"});
  expect_words(run_kvsim(sweep(dump, out, "--policies snapkv:window --budgets 8")), 2, {"key=value"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 8 --layers 0,0")), 2,
               {"--layers", "listed twice"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 8 --layers 5")), 2,
               {"--layers", "layer 5 out of range"});
}

// One layer-selection check for every command: analyze used to accept a
// repeated layer and write its rows twice.
TEST(RobustInputs, AnalyzeChecksItsLayersLikeTheSweep) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "d.h5");
  const std::string base = "analyze --dump " + dump + " --correlation --out " + dir.file("a") + " ";
  expect_words(run_kvsim(base + "--layers 0,0"), 2, {"--layers", "listed twice"});
  expect_words(run_kvsim(base + "--layers 5"), 2, {"--layers", "layer 5 out of range"});
  EXPECT_EQ(run_kvsim(base + "--layers 0").exit_code, 0);
}

TEST(RobustInputs, ParametersOutOfRangeNameTheParameter) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "d.h5");
  const std::string out = dir.file("o");
  expect_words(run_kvsim(sweep(dump, out, "--policies snapkv:window=41 --budgets 8")), 2,
               {"snapkv:window=41", "exceeds the context length 40"});
  expect_words(run_kvsim(sweep(dump, out, "--policies snapkv:kernel=4 --budgets 8")), 2,
               {"snapkv:kernel=4", "must be odd"});
  expect_words(run_kvsim(sweep(dump, out, "--policies streamingllm:n_sink=-1 --budgets 8")), 2,
               {"streamingllm:n_sink=-1", "out of range"});
  expect_words(run_kvsim(sweep(dump, out, "--policies snapkv:window=x --budgets 8")), 2,
               {"snapkv:window=x", "expected an integer"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 8 --sinks -2")), 2, {"--sinks"});
  expect_words(run_kvsim(sweep(dump, out, "--policies knorm --budgets 8 --gqa median")), 2, {"--gqa"});
}

// Checked before any compute: the dump below would fail later (NaN), but the
// output directory error comes first.
TEST(RobustInputs, UnwritableOutputDirectoryFailsUpFront) {
  ScratchDir dir;
  const std::string dump = write_dump(dir, "nan.h5", [](int l, LayerTensors& x) {
    x.q(0, 0, 0) = std::numeric_limits<float>::quiet_NaN();
  });
  std::ofstream(dir.file("afile")) << "x";
  expect_words(run_kvsim(sweep(dump, dir.file("afile/sub"), "--policies knorm --budgets 8")), 1,
               {"--out", "afile/sub", "cannot create the output directory"});
  expect_words(run_kvsim(sweep(dump, dir.file("afile"), "--policies knorm --budgets 8")), 1,
               {"--out", "afile", "cannot create the output directory"});
  if (::geteuid() != 0) {  // root writes anywhere; the permission case needs a normal user
    std::filesystem::create_directories(dir.file("ro"));
    std::filesystem::permissions(dir.file("ro"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    expect_words(run_kvsim(sweep(dump, dir.file("ro"), "--policies knorm --budgets 8")), 1,
                 {"--out", "not writable"});
    std::filesystem::permissions(dir.file("ro"), std::filesystem::perms::owner_all);
  }
}

}  // namespace
}  // namespace kvsim::test
