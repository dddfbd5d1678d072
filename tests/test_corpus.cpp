// Corpora: several dumps per run (labels, dump lists, rows equal to each
// dump's own run), aggregate.csv and its bootstrap, the MPI work division,
// and MPI runs byte-identical to one process (also after a crash + resume).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "analysis/bootstrap.hpp"
#include "analysis/corpus_aggregate.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/dump_corpus.hpp"
#include "io/errors.hpp"
#include "sim/run/journal.hpp"
#include "sim/run/work_division.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {
namespace fs = std::filesystem;

// A small synthetic dump at DIR/<name> (folders created), from `seed`.
std::string synth_dump(const ScratchDir& dir, const std::string& name, int seed, const std::string& extra = "",
                       int tokens = 160) {
  const std::string path = dir.file(name);
  fs::create_directories(fs::path(path).parent_path());
  const auto r = run_kvsim("synth --out " + path + " --layers 2 --heads 4 --kv-heads 2 --head-dim 16 --tokens " +
                           std::to_string(tokens) + " --context-len " + std::to_string(tokens - 32) + " --seed " +
                           std::to_string(seed) + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

// results.csv's rows (header dropped) whose dump column is `label`.
std::string rows_of(const std::string& csv, const std::string& label) {
  std::istringstream in(csv);
  std::string line, out;
  std::getline(in, line);
  while (std::getline(in, line))
    if (line.rfind(label + ",", 0) == 0) out += line + "\n";
  return out;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

const std::string kSweep = "sweep -q --policies keydiff,snapkv,h2o,laprox,oracle --budgets 0.25,16 --block 32 ";

TEST(CorpusLabels, FileNamesWhenUniqueShortestDistinguishingPathOtherwise) {
  EXPECT_EQ(corpus_labels({"/d/a.h5", "/e/b.h5"}), (std::vector<std::string>{"a.h5", "b.h5"}));
  EXPECT_EQ(corpus_labels({"/d/p/x.h5", "/d/q/x.h5", "/d/y.h5"}),
            (std::vector<std::string>{"p/x.h5", "q/x.h5", "y.h5"}));
  // Equal up to two folders: three components are needed, for both.
  EXPECT_EQ(corpus_labels({"/r/s/run/x.h5", "/r/t/run/x.h5"}),
            (std::vector<std::string>{"s/run/x.h5", "t/run/x.h5"}));
}

TEST(CorpusLabels, TheSameFileTwiceIsRefused) {
  ScratchDir dir;
  const std::string a = dir.file("a.h5");
  try {
    make_corpus({a, dir.file("sub/../a.h5")}, "");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("listed twice"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_corpus({}, ""), UsageError);
}

TEST(DumpList, CommentsBlanksAndRelativePathsAgainstTheListsFolder) {
  ScratchDir dir;
  fs::create_directories(dir.file("lists"));
  write_text(dir.file("lists/corpus.txt"), "# the corpus\n\n  one.h5  \n\t# indented comment\n../two.h5\r\n/abs/three.h5\n");
  const auto paths = read_dump_list(dir.file("lists/corpus.txt"));
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(fs::path(paths[0]), fs::path(dir.file("lists")) / "one.h5");
  EXPECT_EQ(fs::path(paths[1]), fs::path(dir.file("lists")) / "../two.h5");
  EXPECT_EQ(paths[2], "/abs/three.h5");
}

TEST(DumpList, EmptyListControlCharactersAndMissingFileNameTheFile) {
  ScratchDir dir;
  write_text(dir.file("empty.txt"), "# nothing\n\n");
  write_text(dir.file("ctl.txt"), "a.h5\nb\x1b[2J.h5\n");
  for (const auto& [file, words] : std::vector<std::pair<std::string, std::string>>{
           {dir.file("empty.txt"), "names no dump"}, {dir.file("ctl.txt"), "line 2 holds a control character"},
           {dir.file("missing.txt"), "cannot read"}}) {
    try {
      read_dump_list(file);
      FAIL() << file;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  }
}

// Each dump's rows in a corpus run are the bytes of its own run, and the
// labels of colliding file names are their shortest distinguishing paths.
TEST(CorpusSweep, RowsEqualEachDumpsOwnRunAndLabelsAreDistinct) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "p/x.h5", 1);
  const std::string b = synth_dump(dir, "q/x.h5", 2, "--dtype f16 --no-o-proj");
  const std::string c = synth_dump(dir, "c.h5", 3);
  write_text(dir.file("list.txt"), "# two of them\nq/x.h5\nc.h5\n");
  const std::string pol = "sweep -q --policies keydiff,snapkv,h2o,oracle --budgets 0.25,16 --block 32 ";
  auto r = run_kvsim(pol + "--dump " + a + " --dump-list " + dir.file("list.txt") + " --out " + dir.file("all"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string all = read_text(dir.file("all/results.csv"));
  int n = 0;
  for (const auto& [path, label] : std::vector<std::pair<std::string, std::string>>{
           {a, "p/x.h5"}, {b, "q/x.h5"}, {c, "c.h5"}}) {
    const std::string out = dir.file("one" + std::to_string(n++));
    r = run_kvsim(pol + "--dump " + path + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string own = read_text(out + "/results.csv");
    own = own.substr(own.find('\n') + 1);
    const std::string base = fs::path(path).filename().string();
    std::string relabelled;  // the lone run labels it by its file name
    std::istringstream in(own);
    std::string line;
    while (std::getline(in, line)) relabelled += label + line.substr(base.size()) + "\n";
    EXPECT_FALSE(relabelled.empty());
    EXPECT_EQ(rows_of(all, label), relabelled) << label;
  }
  const auto run = nlohmann::json::parse(read_text(dir.file("all/run.json")));
  ASSERT_EQ(run["dumps"].size(), 3u);
  EXPECT_EQ(run["dumps"][1]["label"], "q/x.h5");
  EXPECT_FALSE(run.contains("dump"));  // a lone dump's key; a corpus lists them under "dumps"
}

TEST(CorpusSweep, LaproxIsSkippedForTheCorpusWhenOneDumpHasNoOproj) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 1);
  const std::string b = synth_dump(dir, "b.h5", 2, "--no-o-proj");
  const auto r = run_kvsim("sweep -q --budgets 0.25 --dump " + a + " --dump " + b + " --out " + dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("skipping laprox (a dump of the corpus has no o_proj)"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(dir.file("o/results.csv")).find(",laprox,"), std::string::npos);
}

// The bits of every value are the same whatever the thread count (BLAS
// products outside the engine's parallel loops once rounded differently).
TEST(CorpusSweep, TheThreadCountDoesNotChangeAByte) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 4, "--hidden 96");
  const std::string bundled = std::string(KVSIM_SOURCE_DIR) + "/data/tinystories656k-kite.h5";
  for (const std::string& dump : {a, bundled}) {
    std::string bytes[2];
    for (int t = 1; t <= 2; ++t) {
      const std::string out = dir.file("t" + std::to_string(t) + fs::path(dump).stem().string());
      const auto r = run_kvsim("sweep -q --budgets 0.1,0.25 --dump " + dump + " --threads " + std::to_string(t) +
                               " --out " + out);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      bytes[t - 1] = read_text(out + "/results.csv");
    }
    EXPECT_EQ(bytes[0], bytes[1]) << dump;
  }
}

TEST(Bootstrap, HandComputedMeanAndSdAndAnIntervalInsideTheRange) {
  const auto m = analysis::bootstrap_mean({1.0, 3.0}, 7);
  EXPECT_EQ(m.n, 2);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_DOUBLE_EQ(m.sd, std::sqrt(2.0));
  // Resampled means of {1, 3} are 1, 2 or 3 (probabilities 1/4, 1/2, 1/4).
  EXPECT_DOUBLE_EQ(m.ci_lo, 1.0);
  EXPECT_DOUBLE_EQ(m.ci_hi, 3.0);
  const auto one = analysis::bootstrap_mean({0.5}, 7);
  EXPECT_DOUBLE_EQ(one.mean, 0.5);
  EXPECT_TRUE(std::isnan(one.sd) && std::isnan(one.ci_lo) && std::isnan(one.ci_hi));
  const auto constant = analysis::bootstrap_mean({0.25, 0.25, 0.25}, 7);
  EXPECT_DOUBLE_EQ(constant.ci_lo, 0.25);
  EXPECT_DOUBLE_EQ(constant.ci_hi, 0.25);
}

TEST(Bootstrap, ReproducibleForASeedAndDifferentForAnother) {
  const std::vector<double> v = {0.1, 0.4, 0.35, 0.8, 0.2, 0.55, 0.6, 0.05};
  const auto a = analysis::bootstrap_mean(v, 11), b = analysis::bootstrap_mean(v, 11), c = analysis::bootstrap_mean(v, 12);
  EXPECT_EQ(a.ci_lo, b.ci_lo);
  EXPECT_EQ(a.ci_hi, b.ci_hi);
  EXPECT_TRUE(a.ci_lo != c.ci_lo || a.ci_hi != c.ci_hi);
  EXPECT_LT(a.ci_lo, a.mean);
  EXPECT_GT(a.ci_hi, a.mean);
}

// A seeded simulation: 400 corpora of 25 dumps drawn around a known mean; the
// 95% interval covers it in about 95% of them (percentile intervals run a
// little narrow at n = 25: 0.90–0.99 is the accepted band, 4 sd of a
// binomial(400, 0.95) either side, plus the method's known undercoverage).
TEST(Bootstrap, TheIntervalCoversAKnownMeanInASeededSimulation) {
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> noise(0.0, 0.1);
  const double truth = 0.6;
  int covered = 0;
  const int trials = 400;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> v(25);
    for (auto& x : v) x = truth + noise(rng);
    const auto m = analysis::bootstrap_mean(v, 1000 + t);
    covered += m.ci_lo <= truth && truth <= m.ci_hi;
  }
  const double rate = double(covered) / trials;
  EXPECT_GT(rate, 0.90) << rate;
  EXPECT_LT(rate, 0.99) << rate;
}

TEST(CorpusAggregate, OneValuePerDumpHandComputed) {
  analysis::CorpusAggregate agg;
  agg.add({0, 0, 0}, 0.2);
  agg.add({0, 0, 0}, 0.4);
  agg.add({0, -1, 0}, 0.3);
  const std::string csv = agg.csv({{"snap,kv", "0.25", 128}}, {"attn_recall"}, 0);
  std::istringstream in(csv);
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(header, analysis::kAggregateHeader);
  EXPECT_EQ(first, "\"snap,kv\",0.25,128,-1,attn_recall,1,0.3,nan,nan,nan");  // layer -1 first
  EXPECT_EQ(second.substr(0, second.find(",0.3,") + 4), "\"snap,kv\",0.25,128,0,attn_recall,2,0.3");
  EXPECT_NE(second.find(",0.141421356,"), std::string::npos) << second;  // sd of {0.2, 0.4}
}

// aggregate.csv of a real corpus run: per (item, metric) at layer -1 the mean
// over dumps of each dump's mean over its layers' rows.
TEST(CorpusAggregate, AggregateCsvOfARunMatchesResultsCsv) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 1), b = synth_dump(dir, "b.h5", 2);
  const auto r = run_kvsim("sweep -q --policies keydiff --budgets 32 --dump " + a + " --dump " + b + " --out " +
                           dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream rin(read_text(dir.file("o/results.csv")));
  std::string line;
  std::getline(rin, line);
  std::map<std::string, std::pair<double, int>> per_dump;  // attn_recall per dump: sum, count
  while (std::getline(rin, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (f[7] == "attn_recall" && f[6] != "-1") {
      per_dump[f[0]].first += std::stod(f[8]);
      per_dump[f[0]].second += 1;
    }
  }
  ASSERT_EQ(per_dump.size(), 2u);
  // Every layer has the same number of heads here, so the mean of layer means is the mean of rows.
  const double expect = (per_dump["a.h5"].first / per_dump["a.h5"].second + per_dump["b.h5"].first / per_dump["b.h5"].second) / 2;
  const std::string agg = read_text(dir.file("o/aggregate.csv"));
  const auto at = agg.find("keydiff,32,128,-1,attn_recall,2,");
  ASSERT_NE(at, std::string::npos) << agg;
  const double mean = std::stod(agg.substr(at + std::string("keydiff,32,128,-1,attn_recall,2,").size()));
  EXPECT_NEAR(mean, expect, 1e-8);
}

TEST(WorkDivision, LongestFirstToTheLeastLoadedRank) {
  const std::vector<WorkUnit> units = {{0, 0, 5}, {0, 1, 4}, {1, 0, 3}, {1, 1, 3}, {2, 0, 3}};
  const WorkDivision d = divide_work(units, 2);
  // 5 -> r0 (5); 4 -> r1 (4); 3 -> r1 (7); 3 -> r0 (8); 3 -> r1 (10)
  EXPECT_EQ(d.owner, (std::vector<int>{0, 1, 1, 0, 1}));
  EXPECT_EQ(d.predicted_load, (std::vector<double>{8, 10}));
  EXPECT_EQ(d.units_per_rank, (std::vector<int>{2, 3}));
  const WorkDivision alone = divide_work(units, 1);
  EXPECT_EQ(alone.owner, (std::vector<int>(5, 0)));
}

// --- MPI (OpenMPI's mpirun; as root it needs the allow-run-as-root variables) ---

std::string mpirun(int ranks, const std::string& env = "") {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 " + env +
         " mpirun -np " + std::to_string(ranks) + " --oversubscribe " + KVSIM_BINARY + " ";
}

bool have_mpirun() { return run_shell("command -v mpirun").exit_code == 0; }

TEST(CorpusMpi, TwoRanksWriteTheBytesOfOneProcess) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not installed (scripts/install-deps.sh installs openmpi-bin)";
  ScratchDir dir;
  std::string dumps;
  for (int s = 0; s < 3; ++s) dumps += " --dump " + synth_dump(dir, "d" + std::to_string(s) + ".h5", s, "", s == 1 ? 224 : 160);
  auto r = run_kvsim(kSweep + dumps + " --out " + dir.file("one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_shell(mpirun(2) + kSweep + dumps + " --threads 1 --out " + dir.file("two") + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(read_text(dir.file("one/results.csv")), read_text(dir.file("two/results.csv")));
  EXPECT_EQ(read_text(dir.file("one/aggregate.csv")), read_text(dir.file("two/aggregate.csv")));
  const auto run = nlohmann::json::parse(read_text(dir.file("two/run.json")));
  EXPECT_EQ(run["mpi"]["world_size"], 2);
  ASSERT_EQ(run["mpi"]["ranks"].size(), 2u);
  EXPECT_EQ(run["mpi"]["units"], 6);  // 3 dumps x 2 layers
  EXPECT_EQ(run["mpi"]["ranks"][0]["units"].get<int>() + run["mpi"]["ranks"][1]["units"].get<int>(), 6);
  EXPECT_GT(run["mpi"]["ranks"][1]["busy_seconds"].get<double>(), 0.0);
  EXPECT_EQ(run["units"]["computed"], run["units"]["total"]);
  EXPECT_FALSE(fs::exists(dir.file("two/partial")));
}

// results.csv is streamed one dump at a time under a temporary name: a run
// that fails after the first dump's rows leaves the earlier results.csv as
// it was and no temporary file behind.
TEST(CorpusSweep, AFailureMidCorpusKeepsTheEarlierResultsAndLeavesNoTemporaryFile) {
  ScratchDir dir;
  const std::string dumps = " --dump " + synth_dump(dir, "a.h5", 1) + " --dump " + synth_dump(dir, "b.h5", 2);
  const std::string out = dir.file("o");
  fs::create_directories(out);
  write_text(out + "/results.csv", "earlier run\n");
  // 10 items x 2 layers = 20 units per dump: the 25th is in the second dump
  const auto r = run_shell("KVSIM_TEST_FAIL_AFTER_UNITS=25 " + std::string(KVSIM_BINARY) + " " + kSweep + dumps +
                           " --out " + out);
  ASSERT_NE(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(out + "/results.csv"), "earlier run\n");
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

// A rank that dies takes the job down; the units any rank finished stay in
// the journal, and --resume (with or without mpirun) completes the same bytes.
TEST(CorpusMpi, AKilledRankResumesToTheSameBytesWithOrWithoutMpirun) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not installed (scripts/install-deps.sh installs openmpi-bin)";
  ScratchDir dir;
  std::string dumps;
  for (int s = 0; s < 3; ++s) dumps += " --dump " + synth_dump(dir, "d" + std::to_string(s) + ".h5", s);
  auto r = run_kvsim(kSweep + dumps + " --out " + dir.file("one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expect = read_text(dir.file("one/results.csv"));
  for (const bool resume_under_mpi : {false, true}) {
    const std::string out = dir.file(resume_under_mpi ? "mpi" : "alone");
    r = run_shell(mpirun(2, "KVSIM_TEST_FAIL_AFTER_UNITS=7") + kSweep + dumps + " --threads 1 --out " + out +
                  " 2>&1");
    ASSERT_NE(r.exit_code, 0) << r.out;
    ASSERT_TRUE(fs::exists(out + "/partial"));
    EXPECT_FALSE(fs::exists(out + "/results.csv"));
    r = resume_under_mpi ? run_shell(mpirun(2) + kSweep + dumps + " --threads 1 --resume --out " + out + " 2>&1")
                         : run_kvsim(kSweep + dumps + " --resume --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(read_text(out + "/results.csv"), expect);
    const auto run = nlohmann::json::parse(read_text(out + "/run.json"));
    EXPECT_GT(run["units"]["resumed"].get<long>(), 0);
  }
}

// Rank 1 joins rank 0's journal after the barrier, while rank 0 may be
// writing a unit under a temporary name: joining must not sweep leftover
// temporaries (it once deleted rank 0's half-written unit, and rank 0's
// rename failed). A fresh or resumed journal on its own does clean them.
TEST(CorpusMpi, JoiningRanksJournalLeavesItsTemporaryFilesAlone) {
  ScratchDir dir;
  fs::create_directories(dir.file("o/partial"));
  const std::string in_flight = dir.file("o/partial/unit-d0-0-layer0.txt.tmp.12345");
  write_text(in_flight, "half a unit");
  const SweepJournal joined(dir.file("o"), {{"run", 1}}, SweepJournal::Join{});
  EXPECT_TRUE(fs::exists(in_flight));
  const SweepJournal leader(dir.file("o"), {{"run", 1}}, false);
  EXPECT_FALSE(fs::exists(in_flight));
}

TEST(CorpusMpi, OtherCommandsRefuseSeveralRanks) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not installed";
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 1);
  const auto r = run_shell(mpirun(2) + "inspect " + a + " 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("only sweep and replay run over several MPI ranks"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace kvsim::test

namespace kvsim::test {
namespace {

// analyze --correlation on a corpus: each dump's rows are its own run's, and
// the summary's layer -1 mean is the mean over dumps of each dump's mean over
// its per-head rows.
TEST(CorpusAnalyze, CorrelationRowsPerDumpAndASummaryOverDumps) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 1), b = synth_dump(dir, "b.h5", 2);
  auto r = run_kvsim("analyze --correlation --dump " + a + " --dump " + b + " --out " + dir.file("c"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_kvsim("analyze --correlation --dump " + b + " --out " + dir.file("b"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string all = read_text(dir.file("c/correlation.csv"));
  std::string own = read_text(dir.file("b/correlation.csv"));
  own = own.substr(own.find('\n') + 1);
  EXPECT_EQ(rows_of(all, "b.h5"), own);
  std::map<std::string, std::pair<double, int>> per_dump;
  std::istringstream in(all);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (f[1] == "keydiff" && f[4] == "spearman_rho" && f[3] != "-1" && f[5] != "nan") {
      per_dump[f[0]].first += std::stod(f[5]);
      per_dump[f[0]].second += 1;
    }
  }
  ASSERT_EQ(per_dump.size(), 2u);
  // two layers with the same number of heads: the mean of layer means is the mean of rows
  const double expect = (per_dump["a.h5"].first / per_dump["a.h5"].second +
                         per_dump["b.h5"].first / per_dump["b.h5"].second) / 2;
  const std::string summary = read_text(dir.file("c/correlation_corpus.csv"));
  const std::string key = "keydiff,-1,spearman_rho,2,";
  const auto at = summary.find(key);
  ASSERT_NE(at, std::string::npos) << summary;
  EXPECT_NEAR(std::stod(summary.substr(at + key.size())), expect, 1e-8);
}

// --save-kept on a corpus writes kept/<d>.h5, each byte-identical to the
// kept.h5 of that dump's own run; analyze --kept takes the folder and refuses
// it for a corpus in another order (one dump's keys coloured by another's sets).
TEST(CorpusKept, PerDumpFilesEqualEachDumpsOwnRunAndAnalyzeChecksTheirOrder) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 1), b = synth_dump(dir, "b.h5", 2);
  const std::string sweep = "sweep -q --policies keydiff,h2o --budgets 0.25 --block 32 --save-kept ";
  auto r = run_kvsim(sweep + "--dump " + a + " --dump " + b + " --out " + dir.file("all"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("all/kept.h5")));
  const auto run = nlohmann::json::parse(read_text(dir.file("all/run.json")));
  EXPECT_NE(run["outputs"].dump().find("kept/1.h5"), std::string::npos) << run["outputs"];
  int d = 0;
  for (const auto& dump : {a, b}) {
    const std::string own = dir.file("own" + std::to_string(d));
    r = run_kvsim(sweep + "--dump " + dump + " --out " + own);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir.file("all/kept/" + std::to_string(d) + ".h5")), read_text(own + "/kept.h5")) << dump;
    ++d;
  }
  r = run_kvsim("analyze --pca --kept " + dir.file("all/kept") + " --kept-item 1 --dump " + a + " --dump " + b +
                " --out " + dir.file("pca"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // the corpus's dump 1 is b.h5: its points are those of b's own analysis with b's kept set
  r = run_kvsim("analyze --pca --kept " + dir.file("own1/kept.h5") + " --kept-item 1 --dump " + b + " --out " +
                dir.file("pca_b"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(dir.file("pca/per_dump/1/pca_points.csv")), read_text(dir.file("pca_b/pca_points.csv")));
  r = run_kvsim("analyze --pca --kept " + dir.file("all/kept") + " --dump " + b + " --dump " + a + " --out " +
                dir.file("swapped"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds the kept sets of dump 'a.h5', but dump 0 of this corpus is 'b.h5'"), std::string::npos)
      << r.err;
  r = run_kvsim("analyze --pca --kept " + dir.file("all/kept/0.h5") + " --dump " + a + " --dump " + b + " --out " +
                dir.file("c"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("a corpus takes the folder"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvsim::test

namespace kvsim::test {
namespace {

// plot diversity on a corpus analysis: each point is the mean over dumps of
// the dumps' own values (here cross-checked from per_dump/<d>/), drawn with
// an interval and "n = 2 dumps" in the title; a bin listed twice for one dump
// is refused rather than counted twice. PCA points of two dumps lie in two
// different bases: refused.
TEST(CorpusAnalyze, DiversityPlotDrawsMeansOverDumpsAndPcaRefusesSeveralDumps) {
  ScratchDir dir;
  const std::string a = synth_dump(dir, "a.h5", 1), b = synth_dump(dir, "b.h5", 2);
  auto r = run_kvsim("analyze --correlation --dump " + a + " --dump " + b + " --out " + dir.file("c"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  plot::DiversityPlotOptions o;
  o.bins = dir.file("c/correlation_bins.csv");
  o.stats = dir.file("c/correlation.csv");
  o.figure.out_dir = dir.file("f");
  const plot::PlotFiles files = plot::plot_diversity(o);
  EXPECT_NE(files.script.find("corpus of n = 2 dumps"), std::string::npos) << files.script;
  EXPECT_NE(files.script.find("filledcurves"), std::string::npos);
  EXPECT_NE(files.script.find("with vectors nohead"), std::string::npos);
  // the pooled rho in the title is the mean of the two dumps' own values
  auto pooled_rho = [&](const std::string& csv) {
    const auto t = analysis::CsvTable::read(csv);
    for (std::size_t i = 0; i < t.rows(); ++i)
      if (t.text(i, t.column("score")) == "keydiff" && t.number(i, t.column("layer")) == -1 &&
          t.number(i, t.column("head")) == -1 && t.text(i, t.column("metric")) == "spearman_rho_mean")
        return t.number(i, t.column("value"));
    return std::nan("");
  };
  const double expect = (pooled_rho(dir.file("c/per_dump/0/correlation.csv")) +
                         pooled_rho(dir.file("c/per_dump/1/correlation.csv"))) / 2;
  char text[64];
  std::snprintf(text, sizeof text, "keydiff %.2f [", expect);
  EXPECT_NE(files.script.find(text), std::string::npos) << text << "\n" << files.script;
  // one dump's bins twice
  const std::string bins = read_text(dir.file("c/correlation_bins.csv"));
  write_text(dir.file("c/correlation_bins.csv"), bins + bins.substr(bins.find('\n') + 1));
  r = run_kvsim("plot diversity --in " + dir.file("c") + " --out " + dir.file("g"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("appears twice for dump 'a.h5'"), std::string::npos) << r.err;
  r = run_kvsim("analyze --pca --dump " + a + " --dump " + b + " --out " + dir.file("p"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_kvsim("plot pca --in " + dir.file("p") + " --layer 0 --head 0 --out " + dir.file("f"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("holds 2 dumps; plot pca draws one"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvsim::test
