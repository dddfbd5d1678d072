// kept.h5 (sweep/replay --save-kept) holds exactly the engine's final kept
// sets, in results.csv's item order, readable with h5py; it cannot be mixed
// with --resume (resumed units have no kept sets).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "io/kvdump.hpp"
#include "sim/engine/sweep.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

// "item layer kv_head: p p p" lines, in file order, read back with h5py.
std::string kept_file_lines(const std::string& python, const std::string& kept, ScratchDir& dir) {
  const std::string script = dir.file("read_kept.py");
  std::ofstream(script) << "import h5py, sys\n"
                           "f = h5py.File(sys.argv[1], 'r')\n"
                           "assert f.attrs['format'] == 'kvsim-kept' and f.attrs['version'] == 1\n"
                           "G = int(f.attrs['n_kv_heads'])\n"
                           "for i in sorted(f['items'], key=int):\n"
                           "    it = f['items'][i]\n"
                           "    print('item', i, it.attrs['policy'], int(it.attrs['budget']), int(it.attrs['block']))\n"
                           "    for l in sorted(it, key=int):\n"
                           "        pos, off = it[l]['positions'][:], it[l]['offsets'][:]\n"
                           "        assert len(off) == G + 1\n"
                           "        for g in range(G):\n"
                           "            print(i, l, g, ':', ' '.join(str(p) for p in pos[off[g]:off[g + 1]]))\n";
  const auto r = run_shell(python + " " + script + " " + kept);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(KeptSetsFile, SweepWritesTheEngineKeptSets) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  ScratchDir dir;
  const std::string dump = dir.file("d.h5");
  ASSERT_EQ(run_kvsim("synth --out " + dump + " --layers 2 --heads 4 --kv-heads 2 --head-dim 8 --tokens 96 --seed 3")
                .exit_code,
            0);
  const std::string policies = "keydiff,snapkv:window=8,laprox:mode=model", budgets = "0.25,12";
  const auto r = run_kvsim("sweep --quiet --dump " + dump + " --policies " + policies + " --budgets " + budgets +
                           " --block 16 --save-kept --out " + dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_text(dir.file("o/run.json")).find("kept.h5"), std::string::npos);

  DumpReader reader(dump);
  SweepSpec spec;
  spec.policies = parse_policy_list(policies);
  spec.budgets = parse_budget_list(budgets);
  spec.options.block = 16;
  spec.keep_sets = true;
  const SweepResult res = run_sweep(DumpLayerSource(reader), spec);
  std::ostringstream want;
  for (std::size_t i = 0; i < res.items.size(); ++i) {
    want << "item " << i << " " << res.items[i].policy_label << " " << res.items[i].budget_tokens << " "
         << res.items[i].block << "\n";
    for (std::size_t l = 0; l < res.layers.size(); ++l)
      for (std::size_t g = 0; g < res.kept[i][l].size(); ++g) {
        want << i << " " << res.layers[l] << " " << g << " :";
        for (std::size_t k = 0; k < res.kept[i][l][g].size(); ++k)
          want << (k ? " " : " ") << res.kept[i][l][g][k];
        want << "\n";
      }
  }
  EXPECT_EQ(kept_file_lines(python, dir.file("o/kept.h5"), dir), want.str());
}

TEST(KeptSetsFile, SameRunSameBytesAndNoResume) {
  ScratchDir dir;
  const std::string dump = dir.file("d.h5");
  ASSERT_EQ(run_kvsim("synth --out " + dump + " --layers 1 --heads 2 --kv-heads 1 --head-dim 8 --tokens 64").exit_code, 0);
  for (const char* out : {"a", "b"})
    ASSERT_EQ(run_kvsim("replay --quiet --dump " + dump + " --policy h2o --budget 0.5 --save-kept --out " +
                        dir.file(out))
                  .exit_code,
              0);
  EXPECT_EQ(read_text(dir.file("a/kept.h5")), read_text(dir.file("b/kept.h5")));
  const auto r = run_kvsim("replay --dump " + dump + " --policy h2o --budget 0.5 --save-kept --resume --out " +
                           dir.file("c"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--save-kept cannot be combined with --resume"), std::string::npos) << r.err;
}

// analyze --pca --kept kept.h5 flags exactly the tokens that replaying the
// same policy and budget keeps (two independent paths to the same kept set).
TEST(KeptSetsFile, AnalyzeReadsTheKeptFileLikeAReplay) {
  ScratchDir dir;
  const std::string dump = dir.file("d.h5");
  ASSERT_EQ(run_kvsim("synth --out " + dump + " --layers 2 --heads 4 --kv-heads 2 --head-dim 8 --tokens 96 --seed 5")
                .exit_code,
            0);
  ASSERT_EQ(run_kvsim("sweep --quiet --dump " + dump + " --policies keydiff,h2o --budgets 0.25 --save-kept --out " +
                      dir.file("s"))
                .exit_code,
            0);
  const std::string kept = dir.file("s/kept.h5");
  auto r = run_kvsim("analyze --dump " + dump + " --pca --kept " + kept + " --out " + dir.file("a"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kept-item: the file holds 2 items; choose one (0 = keydiff at 18, 1 = h2o at 18)"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(run_kvsim("analyze --dump " + dump + " --pca --kept " + kept + " --kept-item 1 --out " + dir.file("a"))
                .exit_code,
            0);
  ASSERT_EQ(run_kvsim("analyze --dump " + dump + " --pca --policy h2o --budget 0.25 --out " + dir.file("b")).exit_code,
            0);
  auto kept_flags = [](const std::string& csv) {
    std::istringstream in(csv);
    std::string line, out;
    while (std::getline(in, line)) out += line.substr(0, line.find(',', line.find(',') + 1)) + line.substr(line.rfind(',')) + "\n";
    return out;
  };
  const std::string a = read_text(dir.file("a/pca_points.csv")), b = read_text(dir.file("b/pca_points.csv"));
  EXPECT_EQ(kept_flags(a), kept_flags(b));
  EXPECT_NE(a.find(",1\n"), std::string::npos);  // some tokens kept
  EXPECT_NE(a.find(",0\n"), std::string::npos);  // some evicted
}

// A damaged kept.h5 (positions outside the context) ends in one line naming
// the file and the dataset, exit 1.
TEST(KeptSetsFile, ADamagedFileIsAnInputError) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  ScratchDir dir;
  const std::string dump = dir.file("d.h5");
  ASSERT_EQ(run_kvsim("synth --out " + dump + " --layers 1 --heads 2 --kv-heads 1 --head-dim 8 --tokens 64").exit_code, 0);
  ASSERT_EQ(run_kvsim("replay --quiet --dump " + dump + " --policy knorm --budget 0.5 --save-kept --out " +
                      dir.file("s"))
                .exit_code,
            0);
  std::ofstream(dir.file("damage.py")) << "import h5py, sys\nf = h5py.File(sys.argv[1], 'r+')\n"
                                          "d = f['items/0/0/positions']\nd[0] = 9999\n";
  ASSERT_EQ(run_shell(python + " " + dir.file("damage.py") + " " + dir.file("s/kept.h5")).exit_code, 0);
  const auto r = run_kvsim("analyze --dump " + dump + " --pca --kept " + dir.file("s/kept.h5") + " --out " + dir.file("a"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("kept.h5: /items/0/0/positions: 9999 is outside the context [0, "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvsim::test
