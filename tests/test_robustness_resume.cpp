// Nothing lost: an interrupted sweep (simulated crash, SIGINT, SIGTERM) keeps
// its finished (policy, budget, layer) units, --resume continues without
// recomputing them and gives a results.csv byte-identical to an uninterrupted
// run; a second run on the same --out is refused; the same command gives the
// same bytes whatever the thread count.
#include <gtest/gtest.h>

#include <fstream>
#include <sys/file.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support.hpp"

namespace kvsim::test {
namespace {
namespace fs = std::filesystem;

// 3 layers x (3 policies x 2 budgets) = 18 units; includes the model-wide
// laprox mode, whose pre-pass must also survive a resume.
const char* kPolicies = "--policies knorm,h2o,laprox:mode=model --budgets 0.25,0.5 --block 32";

std::string make_dump(const ScratchDir& dir) {
  const std::string path = dir.file("d.h5");
  const auto r = run_kvsim("synth --out " + path + " --layers 3 --heads 4 --kv-heads 2 --head-dim 16 "
                           "--tokens 160 --context-len 128");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

std::string sweep(const std::string& dump, const std::string& out, const std::string& what = kPolicies) {
  return "sweep --dump " + dump + " --out " + out + " --quiet " + what;
}

long unit_files(const std::string& out) {
  long n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out + "/partial", ec))
    n += e.path().filename().string().rfind("unit-", 0) == 0 && e.path().extension() == ".txt";
  return n;
}

bool has_temp_files(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

nlohmann::json units_of(const std::string& out) {
  return nlohmann::json::parse(read_text(out + "/run.json"))["units"];
}

// Unit files store metric ids; a journal written by a build with another
// metric list (here: one metric fewer, as an older build would have) must not
// be resumed, or every row after the change would carry the wrong name.
TEST(RobustResume, AJournalFromAnotherMetricListIsRefused) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  auto r = run_shell("KVSIM_TEST_FAIL_AFTER_UNITS=3 " + std::string(KVSIM_BINARY) + " " + sweep(dump, out));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const std::string progress = out + "/partial/progress.json";
  nlohmann::json j = nlohmann::json::parse(read_text(progress));
  ASSERT_TRUE(j["fingerprint"].contains("metrics")) << j.dump();
  j["fingerprint"]["metrics"].erase(j["fingerprint"]["metrics"].size() - 1);
  std::ofstream(progress) << j.dump();
  r = run_kvsim(sweep(dump, out) + " --resume");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("'metrics' differs"), std::string::npos) << r.err;
}

TEST(RobustResume, CrashAfterUnitsThenResumeIsByteIdentical) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  ASSERT_EQ(run_kvsim(sweep(dump, dir.file("ref"))).exit_code, 0);
  const std::string want = read_text(dir.file("ref/results.csv"));
  EXPECT_FALSE(fs::exists(dir.file("ref/partial")));  // journal removed on success

  const std::string out = dir.file("o");
  auto r = run_shell("KVSIM_TEST_FAIL_AFTER_UNITS=7 " + std::string(KVSIM_BINARY) + " " + sweep(dump, out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("7 finished units are kept"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/results.csv"));
  EXPECT_FALSE(has_temp_files(out));
  EXPECT_EQ(unit_files(out), 7);

  // Not silently overwritten, and not resumed by a different run.
  r = run_kvsim(sweep(dump, out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("rerun with --resume"), std::string::npos) << r.err;
  r = run_kvsim(sweep(dump, out, "--policies knorm,h2o,laprox:mode=model --budgets 0.25 --block 32") + " --resume");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'budgets' differs"), std::string::npos) << r.err;
  EXPECT_EQ(unit_files(out), 7);

  r = run_kvsim(sweep(dump, out) + " --resume --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resumed 7 of 18 units"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(out + "/results.csv"), want);
  const auto units = units_of(out);
  EXPECT_EQ(units["total"], 18);
  EXPECT_EQ(units["resumed"], 7);
  EXPECT_EQ(units["computed"], 11);
  EXPECT_FALSE(fs::exists(out + "/partial"));
}

// A unit file holding another unit's rows (copied or renamed by hand) must not
// be resumed as the unit its name says.
TEST(RobustResume, JournalEntryHoldingAnotherUnitIsRejected) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  auto r = run_shell("KVSIM_TEST_FAIL_AFTER_UNITS=7 " + std::string(KVSIM_BINARY) + " " + sweep(dump, out));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const std::string wrong = out + "/partial/unit-d0-1-layer0.txt";
  ASSERT_TRUE(fs::exists(wrong));
  fs::copy_file(out + "/partial/unit-d0-0-layer0.txt", wrong, fs::copy_options::overwrite_existing);
  r = run_kvsim(sweep(dump, out) + " --resume");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(wrong + ": resume journal entry holds dump 0, item 0, layer 0"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/results.csv"));
}

// A real signal: the run stops between units, keeps what is finished, exits
// 128 + signal, and the resumed run completes the rest.
TEST(RobustResume, SignalMidSweepThenResumeIsByteIdentical) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  ASSERT_EQ(run_kvsim(sweep(dump, dir.file("ref"))).exit_code, 0);
  const std::string want = read_text(dir.file("ref/results.csv"));
  for (int sig : {SIGTERM, SIGINT}) {
    const std::string out = dir.file("o" + std::to_string(sig));
    // 150 ms after each stored unit: the sweep is still running when we signal it.
    const int pid = start_kvsim(sweep(dump, out), dir.file("out.txt"), dir.file("err.txt"),
                                "KVSIM_TEST_UNIT_DELAY_MS=150");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (unit_files(out) < 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GE(unit_files(out), 1);
    ::kill(pid, sig);
    EXPECT_EQ(wait_exit(pid), 128 + sig);
    const std::string err = read_text(dir.file("err.txt"));
    EXPECT_NE(err.find(sig == SIGINT ? "interrupted (SIGINT)" : "interrupted (SIGTERM)"), std::string::npos) << err;
    EXPECT_NE(err.find("of 18 units kept"), std::string::npos) << err;
    const long kept = unit_files(out);
    EXPECT_GE(kept, 1);
    EXPECT_LT(kept, 18);
    EXPECT_FALSE(fs::exists(out + "/results.csv"));

    const auto r = run_kvsim(sweep(dump, out) + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(out + "/results.csv"), want);
    EXPECT_EQ(units_of(out)["resumed"], kept);
    EXPECT_EQ(units_of(out)["computed"], 18 - kept);
  }
}

TEST(RobustLock, SecondRunOnTheSameOutputDirectoryIsRefused) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  fs::create_directories(out);
  // Hold the lock as another kvsim run would.
  const int fd = ::open((out + "/.kvsim.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::write(fd, "4242\n", 5), 5);
  auto r = run_kvsim(sweep(dump, out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another kvsim run (pid 4242) is writing to this directory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/results.csv"));
  EXPECT_FALSE(fs::exists(out + "/partial"));
  ::close(fd);  // released: the next run goes through
  r = run_kvsim(sweep(dump, out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Two real runs at once on one directory: exactly one of them writes.
TEST(RobustLock, ConcurrentRunsDoNotBothWrite) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  const int pid = start_kvsim(sweep(dump, out), dir.file("out1"), dir.file("err1"), "KVSIM_TEST_UNIT_DELAY_MS=50");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (unit_files(out) < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto second = run_kvsim(sweep(dump, out));
  EXPECT_EQ(wait_exit(pid), 0) << read_text(dir.file("err1"));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("is writing to this directory"), std::string::npos) << second.err;
  ASSERT_EQ(run_kvsim(sweep(dump, dir.file("ref"))).exit_code, 0);
  EXPECT_EQ(read_text(out + "/results.csv"), read_text(dir.file("ref/results.csv")));
}

// results.csv and run.json are replaced atomically: a later failing run into
// the same directory leaves the earlier complete files untouched, no temporaries.
TEST(RobustAtomic, FailedRunLeavesEarlierOutputsIntact) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string out = dir.file("o");
  ASSERT_EQ(run_kvsim(sweep(dump, out)).exit_code, 0);
  const std::string csv = read_text(out + "/results.csv"), json = read_text(out + "/run.json");
  const auto r = run_shell("KVSIM_TEST_FAIL_AFTER_UNITS=3 " + std::string(KVSIM_BINARY) + " " +
                           sweep(dump, out) + " --seed 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(read_text(out + "/results.csv"), csv);
  EXPECT_EQ(read_text(out + "/run.json"), json);
  EXPECT_FALSE(has_temp_files(out));
}

TEST(RobustDeterminism, SameCommandGivesIdenticalResultsAcrossThreadCounts) {
  ScratchDir dir;
  const std::string dump = make_dump(dir);
  const std::string args = "--policies knorm,keydiff,snapkv:window=16,tova,h2o,laprox,random,oracle "
                           "--budgets 0.1,0.5 --block 16 --sinks 2 --quiet --seed 3 --dump " + dump;
  std::string first;
  int run = 0;
  for (const char* threads : {"1", "2", "2"}) {
    const std::string out = dir.file("run" + std::to_string(run++));
    const auto r = run_kvsim("sweep --threads " + std::string(threads) + " --out " + out + " " + args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string csv = read_text(out + "/results.csv");
    EXPECT_EQ(csv.find("seconds"), std::string::npos);  // timings live in run.json only
    if (first.empty())
      first = csv;
    else
      EXPECT_EQ(csv, first) << "threads=" << threads;
  }
}

}  // namespace
}  // namespace kvsim::test
