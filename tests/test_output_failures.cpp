// synth and capture when writing goes wrong or the user stops them: a full
// disk, SIGINT/SIGTERM, an --out that cannot be written. Each ends with one
// clear line and the documented exit code, and leaves no temporary file.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support.hpp"

namespace kvsim {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

int error_lines(const std::string& err) {
  int n = 0;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) n += line.find("error") != std::string::npos;
  return n;
}

// `ulimit -f` makes every write past the limit fail (EFBIG), as on a full disk.
test::CommandResult run_with_file_size_limit(const std::string& kvsim_args, int blocks_512) {
  return test::run_shell("ulimit -f " + std::to_string(blocks_512) + " && exec " + std::string(KVSIM_BINARY) + " " +
                         kvsim_args);
}

TEST(OutputFailures, SynthOnAFullDiskEndsInOneLineAndLeavesNoTemporaryFile) {
  test::ScratchDir dir;
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  const auto r = run_with_file_size_limit(
      "synth --out " + (out / "big.h5").string() + " --layers 4 --heads 8 --kv-heads 8 --head-dim 64 --tokens 512", 64);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("big.h5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  EXPECT_TRUE(files_in(out).empty()) << "left behind: " << files_in(out).front();
}

TEST(OutputFailures, CaptureOnAFullDiskEndsInOneLineAndLeavesNoTemporaryFile) {
  const std::string models = test::shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "needs the shared stories260K model";
  test::ScratchDir dir;
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  std::ofstream(dir.file("ids.txt")) << "1 50 60 70 80 90 100 110 120 130";
  const auto r = run_with_file_size_limit("capture --model " + models + "/stories260K/stories260K.bin --tokens-file " +
                                              dir.file("ids.txt") + " --generate 20 --out " + (out / "c.h5").string(),
                                          16);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("c.h5"), std::string::npos) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  EXPECT_TRUE(files_in(out).empty()) << "left behind: " << files_in(out).front();
}

// Starts a synth large enough to run for a while, waits until its temporary
// file exists, sends `sig`, and checks the run stops cleanly.
void expect_interrupted_synth_cleans_up(int sig) {
  test::ScratchDir dir;
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  const std::string target = (out / "big.h5").string();
  const int pid = test::start_kvsim("synth --out " + target + " --layers 200 --heads 8 --kv-heads 8 --head-dim 64 "
                                    "--tokens 2048",
                                    dir.file("stdout"), dir.file("stderr"));
  const std::string temp = target + ".tmp." + std::to_string(pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(temp) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(temp)) << "synth never created " << temp;
  ::kill(pid, sig);
  const int code = test::wait_exit(pid);
  const std::string err = test::read_text(dir.file("stderr"));
  EXPECT_EQ(code, 128 + sig) << err;
  EXPECT_NE(err.find(sig == SIGINT ? "interrupted (SIGINT)" : "interrupted (SIGTERM)"), std::string::npos) << err;
  EXPECT_TRUE(files_in(out).empty()) << "left behind: " << files_in(out).front();
}

TEST(OutputFailures, SigintDuringSynthRemovesTheTemporaryFile) { expect_interrupted_synth_cleans_up(SIGINT); }

TEST(OutputFailures, SigtermDuringSynthRemovesTheTemporaryFile) { expect_interrupted_synth_cleans_up(SIGTERM); }

// A legacy llama2.c checkpoint big enough that a long prefill takes seconds.
std::string write_slow_llama2c(const test::ScratchDir& dir) {
  const std::int32_t D = 256, F = 1024, L = 4, H = 8, G = 8, V = 64, S = 4096, hd = D / H;
  const std::int32_t header[7] = {D, F, L, H, G, V, S};
  const std::size_t n_floats = std::size_t(V) * D + L * D + 4 * std::size_t(L) * D * D + L * D +
                               3 * std::size_t(L) * D * F + D + std::size_t(S) * hd;
  std::vector<float> values(n_floats);
  for (std::size_t i = 0; i < n_floats; ++i) values[i] = static_cast<float>(static_cast<int>(i * 7919 % 61) - 30) / 256;
  const std::string path = dir.file("slow.bin");
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  return path;
}

TEST(OutputFailures, SigtermDuringCaptureStopsCleanly) {
  test::ScratchDir dir;
  const std::string model = write_slow_llama2c(dir);
  {
    std::ofstream ids(dir.file("ids.txt"));
    for (int i = 0; i < 4000; ++i) ids << (3 + i % 60) << ' ';
  }
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  const int pid = test::start_kvsim("capture --model " + model + " --tokens-file " + dir.file("ids.txt") +
                                        " --generate 0 --out " + (out / "c.h5").string(),
                                    dir.file("stdout"), dir.file("stderr"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (test::read_text(dir.file("stderr")).find("prefill") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGTERM);
  const auto sent = std::chrono::steady_clock::now();
  const int code = test::wait_exit(pid);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  const std::string err = test::read_text(dir.file("stderr"));
  EXPECT_EQ(code, 143) << err;
  EXPECT_NE(err.find("interrupted (SIGTERM)"), std::string::npos) << err;
  EXPECT_LT(seconds, 20) << "the run should stop at the next layer";
  EXPECT_TRUE(files_in(out).empty()) << "left behind: " << files_in(out).front();
}

TEST(OutputFailures, CaptureChecksOutBeforeRunningTheModel) {
  const std::string models = test::shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "needs the shared stories260K model";
  test::ScratchDir dir;
  std::ofstream(dir.file("ids.txt")) << "1 50 60";
  std::ofstream(dir.file("afile")) << "x";
  const std::string capture =
      "capture --model " + models + "/stories260K/stories260K.bin --tokens-file " + dir.file("ids.txt") + " --out ";
  struct Case {
    std::string out, words;
  };
  for (const Case& c : {Case{dir.path().string(), "is a directory"},
                        Case{dir.file("absent/c.h5"), "absent"},
                        Case{dir.file("afile/c.h5"), "afile"}}) {
    const auto r = test::run_kvsim(capture + c.out);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.words), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("loaded"), std::string::npos) << "checked only after loading the model: " << r.err;
    EXPECT_EQ(error_lines(r.err), 1) << r.err;
  }
}

}  // namespace
}  // namespace kvsim
