// io/capture_hf.py (PyTorch/transformers capture) and scripts/compare_dumps.py.
// The cross-check against kvsim capture needs torch + transformers + h5py and
// skips with a message where they do not import.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/model_support.hpp"

namespace kvsim {
namespace {

std::string python() {
  const std::string with_h5py = KVSIM_H5PY_PYTHON;
  return with_h5py.empty() ? "python3" : with_h5py;
}

std::string source(const std::string& relative) { return std::string(KVSIM_SOURCE_DIR) + "/" + relative; }

TEST(ModelCaptureHf, ScriptParsesItsOptionsWithoutTorch) {
  const auto help = test::run_shell(python() + " " + source("io/capture_hf.py") + " --help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--tokens-file"), std::string::npos);
  const auto bad = test::run_shell(python() + " " + source("io/capture_hf.py") + " --model m --out o.h5");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("exactly one of --prompt-file and --tokens-file"), std::string::npos) << bad.err;
}

TEST(ModelCaptureHf, CompareScriptFlagsDifferencesAboveTolerance) {
  if (std::string(KVSIM_H5PY_PYTHON).empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  KVSIM_REQUIRE_SHARED_MODEL(model_path, "stories260K/stories260K.bin");
  test::ScratchDir dir;
  std::ofstream(dir.file("ids.txt")) << "1 403 407 261 378 432";
  std::ofstream(dir.file("other.txt")) << "1 403 407 261 378 433";
  auto capture = [&](const std::string& ids, const std::string& dtype, const std::string& out) {
    const auto r = test::run_kvsim("capture --model " + model_path + " --tokens-file " + dir.file(ids) +
                                   " --context-len 4 --generate 4 --dtype " + dtype + " --out " + dir.file(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  capture("ids.txt", "f32", "a.h5");
  capture("ids.txt", "f32", "b.h5");
  capture("other.txt", "f32", "other.h5");
  auto compare = [&](const std::string& a, const std::string& b, const std::string& extra = "") {
    return test::run_shell(python() + " " + source("scripts/compare_dumps.py") + " " + dir.file(a) + " " +
                           dir.file(b) + " --quiet " + extra);
  };
  const auto same = compare("a.h5", "b.h5");
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("worst relative error 0 "), std::string::npos) << "kvsim capture is deterministic: " << same.out;
  // Perturb one element of layer 2's k (head 1) by 1e-3 of that head's largest value.
  const auto perturb = test::run_shell(
      python() + " -c \"import h5py, numpy as np, shutil; shutil.copy('" + dir.file("a.h5") + "', '" +
      dir.file("p.h5") + "'); f = h5py.File('" + dir.file("p.h5") +
      "', 'r+'); k = f['layers/2/k']; x = k[()]; x[1, 3, 2] += 1e-3 * np.abs(x[1]).max(); k[...] = x\"");
  ASSERT_EQ(perturb.exit_code, 0) << perturb.err;
  const auto near = compare("p.h5", "a.h5");
  EXPECT_EQ(near.exit_code, 1) << near.out;
  EXPECT_NE(near.out.find("layer 2 k head 1: relative error 0.001"), std::string::npos) << near.out;
  EXPECT_EQ(compare("p.h5", "a.h5", "--rtol 2e-3").exit_code, 0);
  const auto other = compare("other.h5", "a.h5");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.out.find("tokens differ"), std::string::npos) << other.out;
}

TEST(ModelCaptureHf, TransformersCaptureMatchesKvsimOnTinystories) {
  const auto probe = test::run_shell(python() + " -c 'import torch, transformers, h5py'");
  if (probe.exit_code != 0)
    GTEST_SKIP() << "torch + transformers + h5py do not import in " << python()
                 << " (expected on CPU-only build machines); io/capture_hf.py cross-check not run";
  KVSIM_REQUIRE_SHARED_MODEL(model_path, "tinystories-656k");
  test::ScratchDir dir;
  // BOS + "Once upon a time, there was a little girl named Lily." (ids as the model's own greedy start).
  std::ofstream(dir.file("ids.txt")) << "1 147 201 282 215 286 598 1662 356";
  const std::string common = " --tokens-file " + dir.file("ids.txt") + " --context-len 6 --generate 24 --ignore-eos";
  const auto hf = test::run_shell(python() + " " + source("io/capture_hf.py") + " --model " + model_path + common +
                                  " --out " + dir.file("hf.h5"));
  ASSERT_EQ(hf.exit_code, 0) << hf.err;
  const auto cpp = test::run_kvsim("capture --model " + model_path + common + " --out " + dir.file("cpp.h5"));
  ASSERT_EQ(cpp.exit_code, 0) << cpp.err;
  const auto cmp = test::run_shell(python() + " " + source("scripts/compare_dumps.py") + " " + dir.file("cpp.h5") +
                                   " " + dir.file("hf.h5") + " --rtol 1e-4");
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err;
}

}  // namespace
}  // namespace kvsim
