// No library's own error text reaches the user ("[json.exception...]",
// "filesystem error: ...", a gnuplot script): each failure is one line that
// names the file and field or option. And `kvsim --help` lists every exit code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support.hpp"

namespace kvsim {
namespace {

namespace fs = std::filesystem;

void expect_one_clean_line(const test::CommandResult& r, int code, const std::string& words) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_NE(r.err.find(words), std::string::npos) << "missing '" << words << "' in: " << r.err;
  EXPECT_EQ(r.err.find("filesystem error"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("[json.exception"), std::string::npos) << r.err;
  // capture prints progress lines before; one line is the error
  int errors = 0;
  std::istringstream text(r.err);
  for (std::string line; std::getline(text, line);) errors += line.find("error") != std::string::npos;
  EXPECT_EQ(errors, 1) << r.err;
}

TEST(LibraryMessages, HelpListsEveryExitCode) {
  const auto r = test::run_kvsim("--help");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* code : {"0 success", "1 bad input", "2 bad usage", "130", "143"})
    EXPECT_NE(r.out.find(code), std::string::npos) << "missing '" << code << "' in:\n" << r.out;
}

TEST(LibraryMessages, UnusableModelPathsNameThePath) {
  test::ScratchDir dir;
  fs::create_symlink("loop", dir.file("loop"));
  expect_one_clean_line(test::run_kvsim("capture --model " + dir.file("loop") + " --tokens-file /etc/hostname --out " +
                                        dir.file("o.h5")),
                        1, "loop: cannot access: Too many levels of symbolic links");
  const std::string long_name = dir.file(std::string(300, 'm'));
  expect_one_clean_line(
      test::run_kvsim("capture --model " + long_name + " --tokens-file /etc/hostname --out " + dir.file("o.h5")), 1,
      "cannot access: File name too long");
}

TEST(LibraryMessages, OutputDirectoryUnderAFileNamesTheOption) {
  test::ScratchDir dir;
  const std::string dump = dir.file("d.h5");
  ASSERT_EQ(test::run_kvsim("synth --out " + dump + " --layers 1 --heads 2 --kv-heads 1 --head-dim 8 --tokens 40")
                .exit_code,
            0);
  std::ofstream(dir.file("afile")) << "x";
  expect_one_clean_line(test::run_kvsim("analyze --pca --dump " + dump + " --out " + dir.file("afile/sub")), 1,
                        "--out " + dir.file("afile/sub") + ": cannot create the output directory");
}

TEST(LibraryMessages, MalformedTokenizerJsonNamesTheFile) {
  test::ScratchDir dir;
  std::ofstream(dir.file("tokenizer.json")) << "{\"model\": [1, 2";
  const std::string models = test::shared_models_dir();
  if (models.empty()) GTEST_SKIP() << "needs the shared tinystories-656k model";
  std::ofstream(dir.file("prompt.txt")) << "Once upon a time";
  expect_one_clean_line(test::run_kvsim("capture --model " + models + "/tinystories-656k --tokenizer " +
                                        dir.file("tokenizer.json") + " --prompt-file " + dir.file("prompt.txt") +
                                        " --out " + dir.file("o.h5")),
                        1, "tokenizer.json: malformed tokenizer.json: ");
}

TEST(LibraryMessages, GnuplotFailureIsOneLineNotItsScript) {
  test::ScratchDir dir;
  // A stand-in gnuplot that fails the way gnuplot does: it echoes the
  // offending script line and a caret, then the error.
  const std::string fake = dir.file("fake-gnuplot");
  std::ofstream(fake) << "#!/bin/sh\n"
                         "echo '' >&2\n"
                         "echo \"plot 'x.dat' using 1:2 with lines title 'a'\" >&2\n"
                         "echo '                                       ^' >&2\n"
                         "echo \"\\\"$1\\\" line 12: undefined variable: foo\" >&2\n"
                         "echo '' >&2\n"
                         "exit 1\n";
  fs::permissions(fake, fs::perms::owner_all);
  const std::string csv = dir.file("results.csv");
  std::ofstream(csv) << "dump,policy,budget,budget_ratio,block,layer,head,metric,value\n"
                        "d.h5,keydiff,2,0.5,0,0,0,attn_recall,0.75\n"
                        "d.h5,oracle,2,0.5,0,0,0,attn_recall,0.85\n";
  const auto r = test::run_shell("KVSIM_GNUPLOT=" + fake + " " + std::string(KVSIM_BINARY) + " plot recall --in " +
                                 csv + " --out " + dir.file("figs"));
  expect_one_clean_line(r, 1, "gnuplot failed drawing");
  EXPECT_NE(r.err.find("line 12: undefined variable: foo"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("plot 'x.dat'"), std::string::npos) << "the script line leaked: " << r.err;
}

}  // namespace
}  // namespace kvsim
