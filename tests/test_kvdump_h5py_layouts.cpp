// Valid HDF5 storage options that h5py users pick (filters, chunked and
// extendible layouts) change how bytes sit on disk, never the numbers: each
// variant must read and replay exactly like the plain file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/kvdump.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

using test::ScratchDir;

const std::vector<std::string> kLosslessVariants = {"gzip", "shuffle-gzip", "fletcher32", "extendible", "contiguous"};

// results.csv without the `dump` column (the file name differs per variant).
std::string results_without_dump_column(const std::string& csv) {
  std::istringstream lines(csv);
  std::string out;
  for (std::string line; std::getline(lines, line);) out += line.substr(line.find(',') + 1) + "\n";
  return out;
}

void expect_same_tensors(const std::string& path, const std::string& reference) {
  DumpReader got(path), want(reference);
  ASSERT_EQ(got.attrs().n_layers, want.attrs().n_layers);
  EXPECT_EQ(got.tokens(), want.tokens()) << path;
  for (int l = 0; l < want.attrs().n_layers; ++l) {
    const LayerTensors a = got.read_layer(l), b = want.read_layer(l);
    EXPECT_TRUE(a.q == b.q) << path << " layer " << l << " q";
    EXPECT_TRUE(a.k == b.k) << path << " layer " << l << " k";
    EXPECT_TRUE(a.v == b.v) << path << " layer " << l << " v";
    ASSERT_TRUE(a.o_proj && b.o_proj) << path;
    EXPECT_TRUE(*a.o_proj == *b.o_proj) << path << " layer " << l << " o_proj";
  }
  // A head/token slice crosses chunk edges (the fixtures chunk 5 tokens).
  EXPECT_TRUE(got.read_slice(1, "k", 1, 2, 3, 17) == want.read_slice(1, "k", 1, 2, 3, 17)) << path;
}

std::string sweep_results(const std::string& dump, const ScratchDir& dir, const std::string& name) {
  const std::string out = dir.file("sweep-" + name);
  const auto r = test::run_kvsim("sweep --quiet --dump " + dump + " --out " + out +
                                 " --policies keydiff,snapkv,laprox,oracle --budgets 0.25,0.5 --block 8");
  EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
  return results_without_dump_column(test::read_text(out + "/results.csv"));
}

TEST(KvDumpH5pyLayouts, FilteredAndChunkedFilesReadLikeThePlainFile) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  ScratchDir dir;
  const std::string source = dir.file("plain.h5");
  const auto made = test::run_kvsim("synth --out " + source + " --layers 2 --heads 4 --kv-heads 2 --head-dim 8 "
                                    "--tokens 80 --context-len 70 --seed 3");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string variants = dir.file("variants");
  const auto rewritten = test::run_shell(python + " " + KVSIM_SOURCE_DIR +
                                         "/tests/fixtures/make_h5py_filtered_dumps.py " + source + " " + variants);
  ASSERT_EQ(rewritten.exit_code, 0) << rewritten.err;

  const std::string plain_results = sweep_results(source, dir, "plain");
  ASSERT_NE(plain_results.find("attn_recall"), std::string::npos);
  for (const auto& variant : kLosslessVariants) {
    const std::string path = variants + "/" + variant + ".h5";
    SCOPED_TRACE(variant);
    expect_same_tensors(path, source);
    EXPECT_EQ(sweep_results(path, dir, variant), plain_results);
  }
  // Scale-offset is lossy by design: the reference is what h5py reads back.
  const std::string lossy = variants + "/scaleoffset.h5", readback = variants + "/scaleoffset-readback.h5";
  expect_same_tensors(lossy, readback);
  EXPECT_EQ(sweep_results(lossy, dir, "scaleoffset"), sweep_results(readback, dir, "scaleoffset-readback"));
}

TEST(KvDumpH5pyLayouts, IncompleteFilteredOrExtendibleDatasetsAreStillRefused) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  ScratchDir dir;
  const std::string source = dir.file("plain.h5");
  ASSERT_EQ(test::run_kvsim("synth --out " + source + " --layers 2 --heads 4 --kv-heads 2 --head-dim 8 "
                            "--tokens 37 --context-len 29").exit_code, 0);
  // Recreates /layers/1/v with the given storage options and writes only its first head.
  for (const std::string options : {"compression='gzip', chunks=(1, 5, 8)",
                                    "chunks=(1, 5, 8), maxshape=(None, None, None)",
                                    "fletcher32=True, chunks=(1, 37, 8)"}) {
    SCOPED_TRACE(options);
    const std::string path = dir.file("hollow.h5");
    std::filesystem::copy_file(source, path, std::filesystem::copy_options::overwrite_existing);
    const std::string script = "import h5py, numpy as np\n"
                               "with h5py.File('" + path + "', 'r+') as f:\n"
                               "    del f['layers/1/v']\n"
                               "    d = f.create_dataset('layers/1/v', shape=(2, 37, 8), dtype='f4', " + options + ")\n"
                               "    d[0] = np.ones((37, 8), 'f4')\n";
    std::ofstream(dir.file("hollow.py")) << script;
    const auto r = test::run_shell(python + " " + dir.file("hollow.py"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto inspected = test::run_kvsim("inspect " + path);
    EXPECT_EQ(inspected.exit_code, 1) << inspected.out;
    EXPECT_NE(inspected.err.find("/layers/1/v was never completely written"), std::string::npos) << inspected.err;
  }
}

}  // namespace
}  // namespace kvsim

namespace kvsim {
namespace {

TEST(KvDumpH5pyLayouts, FilterThisLibhdf5LacksIsNamed) {
  // h5py bundles the lzf filter; libhdf5 itself does not have it, so kvsim
  // cannot decompress such a dataset and must say why (not "corrupt").
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  test::ScratchDir dir;
  const std::string path = dir.file("lzf.h5");
  ASSERT_EQ(test::run_kvsim("synth --out " + path + " --layers 1 --heads 2 --kv-heads 1 --head-dim 8 --tokens 20").exit_code, 0);
  std::ofstream(dir.file("lzf.py")) << "import h5py\n"
                                       "with h5py.File('" + path + "', 'r+') as f:\n"
                                       "    q = f['layers/0/q'][()]\n"
                                       "    del f['layers/0/q']\n"
                                       "    f.create_dataset('layers/0/q', data=q, compression='lzf')\n";
  ASSERT_EQ(test::run_shell(python + " " + dir.file("lzf.py")).exit_code, 0);
  const auto r = test::run_kvsim("inspect " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("lzf.h5: /layers/0/q is compressed with HDF5 filter 32000 (lzf)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvsim
