// `kvsim capture` end to end on the shared models: the dump passes DumpReader
// validation, holds the golden tensors for the golden tokens, has the right
// context split, and reads in h5py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/kvdump.hpp"
#include "tests/model_support.hpp"

namespace kvsim {
namespace {

namespace fs = std::filesystem;

std::string write_file(const test::ScratchDir& dir, const std::string& name, const std::string& content) {
  std::ofstream(dir.file(name)) << content;
  return dir.file(name);
}

TEST(ModelCaptureCli, GoldenTokensGiveGoldenTensorsInTheDump) {
  for (const std::string folder : {"stories260K", "tinystories-656k"}) {
    KVSIM_REQUIRE_SHARED_MODEL(model_path, test::model_path_for(folder));
    KVSIM_REQUIRE_SHARED_MODEL(golden_path, folder + "/reference_qkv.json");
    const auto golden = test::read_json(golden_path);
    test::ScratchDir dir;
    std::string ids;
    for (int id : golden["input_tokens"]) ids += std::to_string(id) + " ";
    const auto result = test::run_kvsim("capture --model " + model_path + " --tokens-file " +
                                        write_file(dir, "ids.txt", ids) + " --context-len 6 --generate 0 --out " +
                                        dir.file("d.h5"));
    ASSERT_EQ(result.exit_code, 0) << result.err;

    DumpReader dump(dir.file("d.h5"));  // validates attributes and every dataset
    const DumpAttrs& a = dump.attrs();
    EXPECT_EQ(a.n_tokens, 8);
    EXPECT_EQ(a.context_len, 6);
    EXPECT_EQ(a.source, folder == "stories260K" ? "llama2c" : "kvsim-capture");
    EXPECT_EQ(dump.tokens(), golden["input_tokens"].get<std::vector<int>>());
    EXPECT_TRUE(dump.has_o_proj());
    const int last = a.n_layers - 1;
    LayerFields all;
    all.q_pre_rope = all.hidden_norm = true;
    const LayerTensors t = dump.read_layer(last, all);
    for (const auto& position : golden["positions"]) {
      const int pos = position["pos"].get<int>();
      const auto& layer = position["layers"][std::to_string(last)];
      for (int h = 0; h < a.n_heads; ++h)
        for (int i = 0; i < a.head_dim; ++i) {
          const double q = layer["q"][h * a.head_dim + i], q_pre = layer["q_pre_rope"][h * a.head_dim + i];
          EXPECT_NEAR(t.q(h, pos, i), q, 1e-4 * (1 + std::abs(q))) << folder << " q h" << h << " t" << pos;
          EXPECT_NEAR((*t.q_pre_rope)(h, pos, i), q_pre, 1e-4 * (1 + std::abs(q_pre)));
        }
      for (int g = 0; g < a.n_kv_heads; ++g)
        for (int i = 0; i < a.head_dim; ++i) {
          const double k = layer["k"][g * a.head_dim + i], v = layer["v"][g * a.head_dim + i];
          EXPECT_NEAR(t.k(g, pos, i), k, 1e-4 * (1 + std::abs(k))) << folder << " k g" << g << " t" << pos;
          EXPECT_NEAR(t.v(g, pos, i), v, 1e-4 * (1 + std::abs(v))) << folder << " v g" << g << " t" << pos;
        }
    }
  }
}

TEST(ModelCaptureCli, PromptAndQuestionFilesSetTheContextSplit) {
  KVSIM_REQUIRE_SHARED_MODEL(model_path, "tinystories-656k");
  test::ScratchDir dir;
  const std::string prompt = write_file(dir, "prompt.txt", "Tom had a red ball. He liked to play with it in the park.\n");
  const std::string question = write_file(dir, "question.txt", "What did Tom have?");
  const auto result = test::run_kvsim("capture --model " + model_path + " --prompt-file " + prompt +
                                      " --question-file " + question + " --generate 12 --dtype f16 --out " +
                                      dir.file("d.h5"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("tokens: "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("tokens/s"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("generated text: "), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("prefill"), std::string::npos) << "progress goes to stderr";

  DumpReader dump(dir.file("d.h5"));
  const DumpAttrs& a = dump.attrs();
  const auto tokens = dump.tokens();
  const auto text = dump.token_text();
  ASSERT_EQ(text.size(), tokens.size());
  EXPECT_EQ(tokens.front(), 1) << "BOS first";
  EXPECT_EQ(dump.dtype_name(0, "q"), "float16");
  // The context is BOS + the prompt: its decoded pieces spell the prompt and
  // the question starts right after it.
  ASSERT_TRUE(a.context_len.has_value());
  std::string context_text, future_text;
  for (int t = 1; t < a.n_tokens; ++t) (t < *a.context_len ? context_text : future_text) += text[t];
  EXPECT_EQ(context_text, " Tom had a red ball. He liked to play with it in the park.");
  EXPECT_EQ(future_text.rfind(" What did Tom have?", 0), 0u) << future_text;
  EXPECT_LE(a.n_tokens - *a.context_len, 12 + 8) << "question + at most 12 generated tokens";
}

TEST(ModelCaptureCli, UsageErrorsExitWithTwo) {
  KVSIM_REQUIRE_SHARED_MODEL(model_path, "stories260K/stories260K.bin");
  test::ScratchDir dir;
  const std::string ids = write_file(dir, "ids.txt", "1 403 407");
  const std::string prompt = write_file(dir, "p.txt", "Once upon a time");
  auto run = [&](const std::string& args) { return test::run_kvsim("capture --model " + model_path + " " + args); };
  EXPECT_EQ(run("--out " + dir.file("o.h5")).exit_code, 2) << "neither prompt nor tokens";
  EXPECT_EQ(run("--tokens-file " + ids + " --prompt-file " + prompt + " --out " + dir.file("o.h5")).exit_code, 2);
  EXPECT_EQ(run("--tokens-file " + ids + " --dtype f64 --out " + dir.file("o.h5")).exit_code, 2);
  const auto bad_context = run("--tokens-file " + ids + " --context-len 9 --out " + dir.file("o.h5"));
  EXPECT_EQ(bad_context.exit_code, 2);
  EXPECT_NE(bad_context.err.find("context length 9"), std::string::npos) << bad_context.err;
  EXPECT_FALSE(fs::exists(dir.file("o.h5")));
  EXPECT_EQ(run("--help").exit_code, 0);
}

TEST(ModelCaptureCli, DumpReadsInH5py) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  KVSIM_REQUIRE_SHARED_MODEL(model_path, "stories260K/stories260K.bin");
  test::ScratchDir dir;
  const std::string prompt = write_file(dir, "p.txt", "Lily saw a big dog in the park.");
  const auto made = test::run_kvsim("capture --model " + model_path + " --prompt-file " + prompt +
                                    " --generate 5 --out " + dir.file("d.h5"));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  DumpReader dump(dir.file("d.h5"));
  const LayerTensors t = dump.read_layer(4);
  const std::string script = write_file(dir, "read.py", R"(import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
a = f.attrs
T = int(a["n_tokens"])
assert int(a["kvdump_version"]) == 1
assert f["tokens"].shape == (T,)
for l in range(int(a["n_layers"])):
    g = f["layers"][str(l)]
    assert g["q"].shape == (int(a["n_heads"]), T, int(a["head_dim"])), g["q"].shape
    assert g["k"].shape == (int(a["n_kv_heads"]), T, int(a["head_dim"]))
    assert g["o_proj"].shape == (int(a["hidden_size"]), int(a["n_heads"]) * int(a["head_dim"]))
    assert g["hidden_norm"].shape == (T,)
text = [s.decode() if isinstance(s, bytes) else s for s in f["token_text"][()]]
print(T, int(a["context_len"]), "%.6f" % float(f["layers"]["4"]["k"][3, T - 1, 5]), "".join(text[1:]))
)");
  const auto read = test::run_shell(python + " " + script + " " + dir.file("d.h5"));
  ASSERT_EQ(read.exit_code, 0) << read.err;
  const int T = dump.attrs().n_tokens;
  char expected_k[64];
  std::snprintf(expected_k, sizeof expected_k, "%.6f", t.k(3, T - 1, 5));
  EXPECT_EQ(read.out.rfind(std::to_string(T) + " " + std::to_string(*dump.attrs().context_len) + " " + expected_k, 0),
            0u)
      << read.out;
  EXPECT_NE(read.out.find(" Lily saw a big dog in the park."), std::string::npos) << read.out;
}

}  // namespace
}  // namespace kvsim
