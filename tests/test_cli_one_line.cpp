// The CLI's promise "one stderr line naming the file, dataset, attribute or
// option" must hold when that name itself holds a line break or a control
// character (a file name, a policy label, a CSV cell): the line is shown
// escaped, never broken or used to drive the terminal.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "io/errors.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

int lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

TEST(CliOneLine, OneLineEscapesLineBreaksAndControlCharacters) {
  EXPECT_EQ(one_line("a\nb\rc\td\x1b[31m\x7f"), "a\\nb\\rc\\td\\x1b[31m\\x7f");
  EXPECT_EQ(one_line("plain caf\xc3\xa9 text"), "plain caf\xc3\xa9 text");  // UTF-8 untouched
}

TEST(CliOneLine, FileNameWithALineBreakGivesOneErrorLine) {
  ScratchDir dir;
  const std::string name = dir.file("bad\nname.h5");
  std::ofstream(name) << "not an HDF5 file";
  const auto r = run_kvsim("inspect '" + name + "'");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("bad\\nname.h5"), std::string::npos) << r.err;
}

TEST(CliOneLine, PolicyLabelWithAnEscapeSequenceGivesOneUsageLine) {
  const auto r = run_kvsim("sweep --dump x.h5 --out o --policies \"$(printf 'no\\033[2Jsuch\\nname')\"");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
}

TEST(CliOneLine, NegativeSynthSeedIsRefusedNotWrapped) {
  ScratchDir dir;
  const auto r = run_kvsim("synth --out " + dir.file("s.h5") + " --seed -1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--seed"), std::string::npos) << r.err;
  EXPECT_FALSE(std::ifstream(dir.file("s.h5")).good());
}

}  // namespace
}  // namespace kvsim::test
