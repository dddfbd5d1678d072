// An option that several commands take is parsed in one place
// (sim/cli/options.hpp, sim/run/common_options.hpp), so a bad value gets the
// same words and exit status from each of them, notebooks included.
#include <gtest/gtest.h>

#include <string>

#include "support.hpp"

namespace kvsim::test {
namespace {

// The message after "<program>: usage error: ", or the whole stderr when absent.
std::string usage_message(const CommandResult& r) {
  const std::string marker = "usage error: ";
  const std::size_t at = r.err.find(marker);
  return at == std::string::npos ? r.err : r.err.substr(at + marker.size());
}

struct Commands {
  std::string replay, analyze, notebook;
};

Commands commands_with(const ScratchDir& dir, const std::string& dump, const std::string& option) {
  return {"replay --dump " + dump + " --policy knorm --budget 8 --quiet --out " + dir.file("r") + " " + option,
          "analyze --dump " + dump + " --pca --policy knorm --budget 8 --out " + dir.file("a") + " " + option,
          std::string(KVSIM_BUILD_DIR) + "/nb_recall_curves --dump " + dump + " --out " + dir.file("n") + " " +
              option};
}

TEST(SharedOptions, ABadValueGetsTheSameMessageFromEveryCommand) {
  ScratchDir dir;
  const std::string dump = synth_small_dump(dir, "");
  for (const std::string option : {"--gqa median", "--seed -1", "--window 0"}) {
    const Commands c = commands_with(dir, dump, option);
    const CommandResult replay = run_kvsim(c.replay), analyze = run_kvsim(c.analyze);
    EXPECT_EQ(replay.exit_code, 2) << option << ": " << replay.err;
    EXPECT_EQ(analyze.exit_code, 2) << option << ": " << analyze.err;
    EXPECT_EQ(usage_message(replay), usage_message(analyze)) << option;
    if (option == "--window 0") {  // the notebooks take --window (not --gqa or --seed)
      const CommandResult notebook = run_shell(c.notebook);
      EXPECT_EQ(notebook.exit_code, 2) << notebook.err;
      EXPECT_EQ(usage_message(notebook), usage_message(replay));
    }
  }
  const CommandResult replay = run_kvsim(commands_with(dir, dump, "--threads -1").replay);
  const CommandResult notebook = run_shell(commands_with(dir, dump, "--threads -1").notebook);
  EXPECT_EQ(replay.exit_code, 2) << replay.err;
  EXPECT_EQ(notebook.exit_code, 2) << notebook.err;
  EXPECT_EQ(usage_message(replay), usage_message(notebook));
}

// A dump with context_len ignores --window: each command says so the same way.
TEST(SharedOptions, AnIgnoredWindowIsAWarningInEveryCommand) {
  ScratchDir dir;
  const std::string dump = synth_small_dump(dir, "");  // synth writes context_len
  const Commands c = commands_with(dir, dump, "--window 16");
  const std::string words = "--window 16 is ignored: the dump has context_len=";
  const CommandResult replay = run_kvsim(c.replay), analyze = run_kvsim(c.analyze),
                      notebook = run_shell(c.notebook);
  for (const CommandResult* r : {&replay, &analyze, &notebook}) {
    EXPECT_EQ(r->exit_code, 0) << r->err;
    EXPECT_NE(r->err.find(words), std::string::npos) << r->err;
  }
  EXPECT_NE(read_text(dir.file("n") + "/summary.json").find("window_ignored"), std::string::npos);
}

}  // namespace
}  // namespace kvsim::test
