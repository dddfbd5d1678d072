// Running out of memory is an input problem the user must be able to act on:
// one line that names the dump (and, for a replay, what one layer needs),
// exit 1 — not a bare "out of memory", a crash or a library message.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support.hpp"

namespace kvsim::test {
namespace {

class OutOfMemory : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "ASan reserves terabytes of address space: a ulimit -v cannot be applied";
#endif
    if (std::string(KVSIM_H5PY_PYTHON).empty())
      GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
    dump_ = dir_.file("huge.h5");
    const auto made = run_shell(std::string(KVSIM_H5PY_PYTHON) + " " + KVSIM_SOURCE_DIR +
                                "/tests/fixtures/make_h5py_huge_sparse_dump.py " + dump_);
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  // kvsim under a 3 GB address-space limit: the fixture's one layer needs ~8 GiB.
  CommandResult run_limited(const std::string& args) {
    return run_shell("ulimit -v 3000000; " + std::string(KVSIM_BINARY) + " " + args);
  }
  ScratchDir dir_;
  std::string dump_;
};

TEST_F(OutOfMemory, SweepNamesTheDumpAndWhatOneLayerNeeds) {
  const auto r = run_limited("sweep --dump " + dump_ + " --out " + dir_.file("o") + " --policies knorm --budgets 0.5 -q");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(dump_ + ": replaying one layer needs about 8.1 GiB: out of memory"), std::string::npos) << r.err;
}

TEST_F(OutOfMemory, InspectStatsNamesTheDump) {
  const auto r = run_limited("inspect --stats " + dump_);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("kvsim inspect: error: " + dump_ + ": out of memory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvsim::test
