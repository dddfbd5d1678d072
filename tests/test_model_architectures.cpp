// Every supported HF architecture against an independent float64 NumPy
// forward pass (tests/reference/numpy_forward.py, written from the
// architectures' definitions): a random-weight checkpoint is generated at test
// time (tests/reference/random_hf_checkpoint.py), kvsim captures it, and every
// layer's post-RoPE q and k and v agree to float32 rounding. Layers after the
// first check the whole forward of the ones before (attention, o_proj, MLP).
// Qwen3 adds the per-head RMSNorm of q and k before RoPE.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "io/kvdump.hpp"
#include "io/model/model_config.hpp"
#include "io/model/load_model.hpp"
#include "sim/model/capture.hpp"
#include "sim/model/transformer.hpp"
#include "tests/model_support.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

double max_relative_error(const Tensor3& got, const nlohmann::json& want) {
  double diff = 0, ref = 0;
  for (std::size_t a = 0; a < want.size(); ++a)
    for (std::size_t t = 0; t < want[a].size(); ++t)
      for (std::size_t c = 0; c < want[a][t].size(); ++c) {
        const double w = want[a][t][c].get<double>();
        diff = std::max(diff, std::fabs(double(got(a, t, c)) - w));
        ref = std::max(ref, std::fabs(w));
      }
  return diff / ref;
}

// Captures `model_dir` on a fixed token list and expects every layer's q, k
// and v to match the NumPy forward of the same checkpoint.
void expect_capture_matches_numpy(const std::string& python, const ScratchDir& dir, const std::string& model_dir,
                                  const std::string& what) {
  std::ofstream(dir.file("ids.txt")) << "1 5 9 13 40 77 3 21 8 64 2 55 90 4\n";
  auto r = run_kvsim("capture --model " + model_dir + " --tokens-file " + dir.file("ids.txt") + " --generate 0 --out " +
                     dir.file("d.h5"));
  ASSERT_EQ(r.exit_code, 0) << what << ": " << r.err;
  r = run_shell(python + " " + std::string(KVSIM_SOURCE_DIR) + "/tests/reference/numpy_forward.py " + model_dir + " " +
                dir.file("ids.txt"));
  ASSERT_EQ(r.exit_code, 0) << what << ": " << r.err;
  const auto want = nlohmann::json::parse(r.out);
  DumpReader dump(dir.file("d.h5"));
  ASSERT_EQ(want["layers"].size(), std::size_t(dump.attrs().n_layers)) << what;
  for (int l = 0; l < dump.attrs().n_layers; ++l) {
    const LayerTensors x = dump.read_layer(l);
    EXPECT_LT(max_relative_error(x.q, want["layers"][l]["q"]), 2e-6) << what << " layer " << l << " q";
    EXPECT_LT(max_relative_error(x.k, want["layers"][l]["k"]), 2e-6) << what << " layer " << l << " k";
    EXPECT_LT(max_relative_error(x.v, want["layers"][l]["v"]), 2e-6) << what << " layer " << l << " v";
  }
}

std::string make_checkpoint(const std::string& python, const ScratchDir& dir, const std::string& args) {
  const auto r = run_shell(python + " " + std::string(KVSIM_SOURCE_DIR) + "/tests/reference/random_hf_checkpoint.py " +
                           dir.file("m") + " " + args);
  EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err;
  return dir.file("m");
}

TEST(ModelArchitectures, EachMatchesAnIndependentFloat64NumpyForward) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not installed (scripts/install-deps.sh installs it)";
  for (const std::string arch : {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}) {
    ScratchDir dir;
    expect_capture_matches_numpy(python, dir, make_checkpoint(python, dir, arch + " 7"), arch);
  }
}

// F16 and BF16 checkpoints: the weights are widened exactly, so the capture
// agrees with the NumPy forward on the same (rounded) weights as closely as F32.
TEST(ModelArchitectures, Float16AndBfloat16CheckpointsMatchTheNumpyForward) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not installed";
  for (const std::string dtype : {"F16", "BF16"}) {
    ScratchDir dir;
    const std::string model_dir = make_checkpoint(python, dir, "Qwen3ForCausalLM 5 0 0 " + dtype);
    expect_capture_matches_numpy(python, dir, model_dir, dtype);
    // Converted as used: the matrices stay 16-bit in the memory map; only
    // the norm vectors are widened at load.
    const LoadedModel model = load_model(model_dir);
    const WeightDType expected = dtype == "F16" ? WeightDType::f16 : WeightDType::bf16;
    std::size_t widened = 0;
    for (const auto& buffer : model.storage->widened) widened += buffer.size();
    for (const LayerWeights& w : model.weights.layers)
      for (const WeightMatrix* m : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
        EXPECT_EQ(m->dtype, expected) << dtype;
    EXPECT_EQ(model.weights.token_embedding.dtype, expected);
    const auto& c = model.config;
    const std::size_t norms = c.n_layers * (2 * c.hidden_size + 2 * c.head_dim) + c.hidden_size;
    EXPECT_EQ(widened, norms) << dtype << ": only the norm vectors are float32 copies";
  }
}

// Llama-3.x RoPE scaling (and the older linear one) against the reference's
// own implementation of the frequencies: with an original context of 64, the
// 8 frequency pairs of d = 16 fall in all three Llama-3 bands.
TEST(ModelArchitectures, RopeScalingMatchesTheNumpyForward) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not installed";
  for (const std::string scaling : {"linear", "llama3"}) {
    ScratchDir dir;
    expect_capture_matches_numpy(python, dir, make_checkpoint(python, dir, "LlamaForCausalLM 9 0 0 F32 " + scaling),
                                 scaling);
  }
}

// A Qwen3 checkpoint without its q_norm weights is refused, naming the tensor.
TEST(ModelArchitectures, Qwen3WithoutQNormNamesTheMissingTensor) {
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not installed";
  ScratchDir dir;
  const std::string ref = std::string(KVSIM_SOURCE_DIR) + "/tests/reference/";
  auto r = run_shell(python + " " + ref + "random_hf_checkpoint.py " + dir.file("m") + " Qwen2ForCausalLM 7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // the Qwen2 tensors under a Qwen3 config: no q_norm/k_norm
  r = run_shell(python + " -c \"import json; p='" + dir.file("m/config.json") +
                "'; c=json.load(open(p)); c['architectures']=['Qwen3ForCausalLM']; json.dump(c, open(p, 'w'))\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ofstream(dir.file("ids.txt")) << "1 5 9\n";
  r = run_kvsim("capture --model " + dir.file("m") + " --tokens-file " + dir.file("ids.txt") + " --generate 0 --out " +
                dir.file("d.h5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("self_attn.q_norm.weight"), std::string::npos) << r.err;
}

// Records each layer's activations (q, k, v) from whichever forward runs.
class KeepAll : public ForwardObserver {
 public:
  explicit KeepAll(const ModelConfig& c) : qd_(c.q_dim()), kd_(c.kv_dim()) {}
  void on_layer(int layer, const LayerActivations& a) override {
    auto& rows = layers[layer];
    const std::size_t n = a.n_tokens;
    rows.insert(rows.end(), a.q, a.q + n * qd_);
    rows.insert(rows.end(), a.k, a.k + n * kd_);
    rows.insert(rows.end(), a.v, a.v + n * kd_);
  }
  std::map<int, std::vector<float>> layers;

 private:
  std::size_t qd_, kd_;
};

// The streaming capture's layer-by-layer pass computes the bits of one
// forward over all tokens (so a streamed dump equals the in-memory capture).
TEST(ModelArchitectures, LayerByLayerPassEqualsOneForwardBitForBit) {
  KVSIM_REQUIRE_SHARED_MODEL(path, "tinystories-656k");
  const LoadedModel model = load_model(path, 0);
  std::vector<int> tokens;
  for (int i = 0; i < 150; ++i) tokens.push_back(1 + (i * 31) % 900);
  KeepAll once(model.config), layered(model.config);
  Transformer(model, 150).forward(tokens, &once);
  forward_layer_by_layer(model, tokens, layered);
  ASSERT_EQ(once.layers.size(), std::size_t(model.config.n_layers));
  EXPECT_TRUE(once.layers == layered.layers);
}

// prefill_flops on paper: D = 4, 2 heads of d = 2, 1 KV head, F = 6, V = 10,
// one layer, n = 3 tokens: projections 2*3*4*(4 + 2*2) + 2*3*4*4 = 288, MLP
// 3*2*3*4*6 = 432, attention 2*2*2*2*(3*4/2) = 96, lm_head 2*4*10 = 80.
TEST(ModelArchitectures, PrefillFlopsOnPaperAndCapturePrintsTheRate) {
  ModelConfig c;
  c.hidden_size = 4;
  c.n_heads = 2;
  c.head_dim = 2;
  c.n_kv_heads = 1;
  c.intermediate_size = 6;
  c.vocab_size = 10;
  c.n_layers = 1;
  EXPECT_DOUBLE_EQ(prefill_flops(c, 3), 288 + 432 + 96 + 80);
  const std::string python = KVSIM_H5PY_PYTHON;
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not installed";
  ScratchDir dir;
  auto r = run_shell(python + " " + std::string(KVSIM_SOURCE_DIR) + "/tests/reference/random_hf_checkpoint.py " +
                     dir.file("m") + " LlamaForCausalLM 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ofstream(dir.file("ids.txt")) << "1 5 9 13\n";
  r = run_kvsim("capture --model " + dir.file("m") + " --tokens-file " + dir.file("ids.txt") + " --generate 0 --out " +
                dir.file("d.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("prefill: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("% of this run's sgemm 2048^3"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kvsim::test
