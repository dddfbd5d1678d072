// The folders depend one way (docs/ARCHITECTURE.md): scripts/check-deps.sh
// checks every project #include against the folders' DEPS files. The repo
// must pass, and the checker must catch what it is for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support.hpp"

namespace kvsim::test {
namespace {

namespace fs = std::filesystem;

const std::string kChecker = std::string(KVSIM_SOURCE_DIR) + "/scripts/check-deps.sh";

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(FolderDependencies, TheRepositoryFollowsItsDepsFiles) {
  const auto r = run_shell("bash " + kChecker + " " + KVSIM_SOURCE_DIR);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(FolderDependencies, AnIncludeAgainstTheOrderFails) {
  ScratchDir dir;
  write(dir.path() / "io/DEPS", "# io depends on nothing\n");
  write(dir.path() / "io/reader.cpp", "#include \"io/reader.hpp\"\n#include \"sim/engine.hpp\"\n#include <vector>\n");
  write(dir.path() / "sim/DEPS", "allow io\n");
  write(dir.path() / "sim/engine.hpp", "#include \"io/reader.hpp\"\n");
  const auto r = run_shell("bash " + kChecker + " " + dir.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("io/reader.cpp includes \"sim/engine.hpp\": io/ may not depend on sim/"), std::string::npos)
      << r.out;
}

TEST(FolderDependencies, AnExceptionIsAllowedOnlyWhileItOccurs) {
  ScratchDir dir;
  write(dir.path() / "sim/DEPS", "allow io\n");
  write(dir.path() / "sim/engine.hpp", "#include \"io/reader.hpp\"\n");
  write(dir.path() / "io/DEPS", "exception io/reader.cpp -> sim/engine.hpp  # debt\n");
  write(dir.path() / "io/reader.cpp", "#include \"sim/engine.hpp\"\n");
  EXPECT_EQ(run_shell("bash " + kChecker + " " + dir.path().string()).exit_code, 0);

  write(dir.path() / "io/reader.cpp", "#include \"io/reader.hpp\"\n");  // the debt is paid
  const auto r = run_shell("bash " + kChecker + " " + dir.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("exception io/reader.cpp -> sim/engine.hpp no longer occurs"), std::string::npos) << r.out;
}

// A subfolder with its own DEPS follows it, not its parent's: the kernels
// below policies/ may not include a policy, and a room of sim/ may include
// only the rooms its DEPS names (a subfolder path, not just a top folder).
TEST(FolderDependencies, ASubfolderFollowsItsOwnDepsFile) {
  ScratchDir dir;
  write(dir.path() / "io/DEPS", "\n");
  write(dir.path() / "io/reader.hpp", "\n");
  write(dir.path() / "policies/DEPS", "allow io\n");
  write(dir.path() / "policies/policy.hpp", "#include \"policies/kernels/blas.hpp\"\n");
  write(dir.path() / "policies/kernels/DEPS", "allow io\n");
  write(dir.path() / "policies/kernels/blas.hpp", "#include \"io/reader.hpp\"\n");
  write(dir.path() / "sim/run/DEPS", "allow io\n");
  write(dir.path() / "sim/run/journal.hpp", "#include \"io/reader.hpp\"\n");
  write(dir.path() / "sim/engine/DEPS", "allow io\nallow policies/kernels\nallow sim/run\n");
  write(dir.path() / "sim/engine/sweep.cpp",
        "#include \"sim/run/journal.hpp\"\n#include \"policies/kernels/blas.hpp\"\n");
  EXPECT_EQ(run_shell("bash " + kChecker + " " + dir.path().string()).exit_code, 0);

  write(dir.path() / "policies/kernels/selection.hpp", "#include \"policies/policy.hpp\"\n");
  write(dir.path() / "sim/run/journal.cpp", "#include \"sim/engine/sweep.hpp\"\n");
  write(dir.path() / "sim/engine/replay.cpp", "#include \"policies/policy.hpp\"\n");
  const auto r = run_shell("bash " + kChecker + " " + dir.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  for (const char* line : {"policies/kernels/selection.hpp includes \"policies/policy.hpp\": policies/kernels/ may not",
                           "sim/run/journal.cpp includes \"sim/engine/sweep.hpp\": sim/run/ may not depend on sim/engine/",
                           "sim/engine/replay.cpp includes \"policies/policy.hpp\": sim/engine/ may not depend on policies/"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
}

}  // namespace
}  // namespace kvsim::test
