// A FIFO, a device or a directory given where kvsim expects a file is refused
// at once with one line naming it — not after the I/O watchdog's deadline
// (60 s by default), and not read as an empty or endless file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support.hpp"

namespace kvsim {
namespace {

struct Timed {
  test::CommandResult result;
  double seconds = 0;
};

Timed timed_kvsim(const std::string& args) {
  const auto start = std::chrono::steady_clock::now();
  Timed t;
  // `timeout`: a regression must fail the test, not hang the suite.
  t.result = test::run_shell("timeout 20 " + std::string(KVSIM_BINARY) + " " + args);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

void expect_refused_at_once(const Timed& t, const std::string& words) {
  EXPECT_EQ(t.result.exit_code, 1) << t.result.err;
  EXPECT_NE(t.result.err.find(words), std::string::npos) << "missing '" << words << "' in: " << t.result.err;
  int error_lines = 0;
  std::istringstream lines(t.result.err);
  for (std::string line; std::getline(lines, line);) error_lines += line.find("error") != std::string::npos;
  EXPECT_EQ(error_lines, 1) << t.result.err;
  EXPECT_LT(t.seconds, 5.0);
}

TEST(SpecialFiles, DumpThatIsAFifoDeviceOrDirectoryIsRefusedAtOnce) {
  test::ScratchDir dir;
  const std::string fifo = dir.file("dump.h5");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_refused_at_once(timed_kvsim("inspect " + fifo), "dump.h5: not a regular file (FIFO)");
  expect_refused_at_once(timed_kvsim("sweep --quiet --dump " + fifo + " --out " + dir.file("o")),
                         "dump.h5: not a regular file (FIFO)");
  expect_refused_at_once(timed_kvsim("inspect /dev/null"), "/dev/null: not a regular file (character device)");
  expect_refused_at_once(timed_kvsim("analyze --pca --dump " + dir.path().string() + " --out " + dir.file("a")),
                         ": not a regular file (directory)");
}

TEST(SpecialFiles, CaptureInputsThatAreFifosOrDirectoriesAreRefusedAtOnce) {
  test::ScratchDir dir;
  const std::string fifo_model = dir.file("model.bin");
  ASSERT_EQ(::mkfifo(fifo_model.c_str(), 0600), 0);
  std::ofstream(dir.file("some-ids.txt")) << "1 2 3";
  expect_refused_at_once(
      timed_kvsim("capture --model " + fifo_model + " --tokens-file " + dir.file("some-ids.txt") + " --out " +
                  dir.file("o.h5")),
      "model.bin: not a regular file (FIFO)");

  const std::string models = test::shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "the shared models are needed for the tokens/prompt file cases";
  const std::string model = models + "/stories260K/stories260K.bin";
  const std::string fifo_tokens = dir.file("ids.txt");
  ASSERT_EQ(::mkfifo(fifo_tokens.c_str(), 0600), 0);
  expect_refused_at_once(timed_kvsim("capture --model " + model + " --tokens-file " + fifo_tokens + " --out " +
                                     dir.file("o.h5")),
                         "ids.txt: not a regular file (FIFO)");
  expect_refused_at_once(timed_kvsim("capture --model " + model + " --prompt-file " + dir.path().string() +
                                     " --out " + dir.file("o.h5")),
                         ": not a regular file (directory)");
}

}  // namespace
}  // namespace kvsim
