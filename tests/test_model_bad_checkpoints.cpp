// Loader behaviour on small checkpoints made at test time: f16/bf16 widening,
// sharded checkpoints, Qwen2 biases, and a clear error (naming file and
// key/tensor) for each kind of broken checkpoint.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "io/errors.hpp"
#include "io/model/hf_loader.hpp"
#include "io/model/llama2c_loader.hpp"
#include "io/model/load_model.hpp"
#include "sim/model/transformer.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A tiny random-weight Llama checkpoint, written as config.json + safetensors.
struct TinyCheckpoint {
  json config = {{"architectures", {"LlamaForCausalLM"}},
                 {"hidden_size", 8},
                 {"intermediate_size", 12},
                 {"num_hidden_layers", 2},
                 {"num_attention_heads", 2},
                 {"num_key_value_heads", 1},
                 {"vocab_size", 16},
                 {"rms_norm_eps", 1e-6},
                 {"rope_theta", 10000.0},
                 {"tie_word_embeddings", true},
                 {"bos_token_id", 1},
                 {"eos_token_id", 2}};
  struct Tensor {
    std::string dtype = "F32";
    std::vector<std::int64_t> shape;
    std::vector<float> values;
  };
  std::map<std::string, Tensor> tensors;

  TinyCheckpoint() {
    const std::int64_t D = 8, F = 12, KD = 4;
    add("model.embed_tokens.weight", {16, D});
    add("model.norm.weight", {D});
    for (int l = 0; l < 2; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      add(p + "input_layernorm.weight", {D});
      add(p + "self_attn.q_proj.weight", {D, D});
      add(p + "self_attn.k_proj.weight", {KD, D});
      add(p + "self_attn.v_proj.weight", {KD, D});
      add(p + "self_attn.o_proj.weight", {D, D});
      add(p + "post_attention_layernorm.weight", {D});
      add(p + "mlp.gate_proj.weight", {F, D});
      add(p + "mlp.up_proj.weight", {F, D});
      add(p + "mlp.down_proj.weight", {D, F});
    }
  }
  void add(const std::string& name, std::vector<std::int64_t> shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    Tensor t;
    t.shape = std::move(shape);
    // Deterministic values that are exact in bf16 and f16 (multiples of 1/64).
    for (std::size_t i = 0; i < n; ++i)
      t.values.push_back(static_cast<float>(static_cast<int>((i * 37 + name.size() * 11) % 29) - 14) / 64.0f);
    tensors[name] = std::move(t);
  }

  static std::vector<std::uint8_t> encode(const Tensor& t) {
    std::vector<std::uint8_t> bytes;
    for (float value : t.values) {
      std::uint32_t bits;
      std::memcpy(&bits, &value, 4);
      if (t.dtype == "F32" || t.dtype == "I32") {
        for (int b = 0; b < 4; ++b) bytes.push_back((bits >> (8 * b)) & 0xff);
      } else if (t.dtype == "BF16") {
        bytes.push_back((bits >> 16) & 0xff);
        bytes.push_back((bits >> 24) & 0xff);
      } else if (t.dtype == "F16") {  // exact for the small normal values used here
        const std::uint32_t sign = (bits >> 16) & 0x8000, exponent = (bits >> 23) & 0xff, mantissa = bits & 0x7fffff;
        const std::uint16_t half = value == 0 ? sign : sign | ((exponent - 112) << 10) | (mantissa >> 13);
        bytes.push_back(half & 0xff);
        bytes.push_back(half >> 8);
      }
    }
    return bytes;
  }

  // Writes the tensors whose names satisfy `pick` into one safetensors file.
  template <typename Pick>
  void write_safetensors(const std::string& path, Pick pick) const {
    json header = json::object();
    std::vector<std::uint8_t> data;
    for (const auto& [name, t] : tensors) {
      if (!pick(name)) continue;
      auto bytes = encode(t);
      header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + bytes.size()}}};
      data.insert(data.end(), bytes.begin(), bytes.end());
    }
    header["__metadata__"] = {{"format", "pt"}};
    std::string text = header.dump();
    while ((8 + text.size()) % 8) text += ' ';  // writers pad the header to 8 bytes
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), text.size());
    out.write(reinterpret_cast<const char*>(data.data()), data.size());
  }

  std::string write(const test::ScratchDir& dir, const std::string& name = "model") const {
    const fs::path path = dir.path() / name;
    fs::create_directories(path);
    std::ofstream(path / "config.json") << config.dump(2);
    write_safetensors((path / "model.safetensors").string(), [](const std::string&) { return true; });
    return path.string();
  }
};

// Runs `load` and returns the InputError message ("" when none was thrown).
template <typename Load>
std::string error_of(Load load) {
  try {
    load();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_MENTIONS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "error message: '" << (message) << "' lacks '" << (part) << "'"

std::vector<float> run_tokens(const LoadedModel& model, const std::vector<int>& tokens) {
  Transformer transformer(model, static_cast<int>(tokens.size()));
  return transformer.forward(tokens);
}

TEST(ModelCheckpoint, TinyF32CheckpointLoadsInPlaceAndRuns) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  const LoadedModel model = load_model(ckpt.write(dir));
  EXPECT_EQ(model.config.n_kv_heads, 1);
  EXPECT_EQ(model.config.head_dim, 4);
  EXPECT_EQ(model.weights.lm_head, model.weights.token_embedding) << "tied embeddings share one tensor";
  EXPECT_EQ(model.storage->widened.size(), 0u) << "fp32 weights are used from the memory map, not copied";
  EXPECT_EQ(model.weights.layers[1].wk.at(5), ckpt.tensors["model.layers.1.self_attn.k_proj.weight"].values[5]);
  const auto logits = run_tokens(model, {1, 5, 7});
  ASSERT_EQ(logits.size(), 16u);
  for (float x : logits) EXPECT_TRUE(std::isfinite(x));
}

TEST(ModelCheckpoint, Bf16AndF16AreWidenedExactly) {
  test::ScratchDir dir;
  TinyCheckpoint reference;
  const auto expected = run_tokens(load_model(reference.write(dir, "f32")), {1, 3, 9, 4});
  for (const std::string dtype : {"BF16", "F16"}) {
    TinyCheckpoint ckpt;
    for (auto& [name, t] : ckpt.tensors) t.dtype = dtype;
    const LoadedModel model = load_model(ckpt.write(dir, dtype));
    EXPECT_EQ(model.weights.layers[0].w_up.at(7), reference.tensors["model.layers.0.mlp.up_proj.weight"].values[7]) << dtype;
    EXPECT_EQ(run_tokens(model, {1, 3, 9, 4}), expected) << dtype << " weights are exact widenings of the f32 ones";
  }
}

TEST(ModelCheckpoint, ShardedCheckpointEqualsSingleFile) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  const auto expected = run_tokens(load_model(ckpt.write(dir, "single")), {1, 2, 3});
  const fs::path sharded = dir.path() / "sharded";
  fs::create_directories(sharded);
  std::ofstream(sharded / "config.json") << ckpt.config.dump();
  auto in_first = [](const std::string& name) { return name.find("layers.1.") == std::string::npos; };
  ckpt.write_safetensors((sharded / "model-00001-of-00002.safetensors").string(), in_first);
  ckpt.write_safetensors((sharded / "model-00002-of-00002.safetensors").string(),
                         [&](const std::string& name) { return !in_first(name); });
  json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
  for (const auto& [name, t] : ckpt.tensors)
    index["weight_map"][name] = in_first(name) ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  std::ofstream(sharded / "model.safetensors.index.json") << index.dump();
  EXPECT_EQ(run_tokens(load_model(sharded.string()), {1, 2, 3}), expected);

  fs::remove(sharded / "model-00002-of-00002.safetensors");
  const std::string message = error_of([&] { load_model(sharded.string()); });
  EXPECT_MENTIONS(message, "model-00002-of-00002.safetensors");
  EXPECT_MENTIONS(message, "missing");
}

TEST(ModelCheckpoint, Qwen2LoadsItsQkvBiases) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.config["architectures"] = {"Qwen2ForCausalLM"};
  const std::string missing = error_of([&] { load_model(ckpt.write(dir, "no-bias")); });
  EXPECT_MENTIONS(missing, "model.layers.0.self_attn.q_proj.bias");
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
    ckpt.add(p + "q_proj.bias", {8});
    ckpt.add(p + "k_proj.bias", {4});
    ckpt.add(p + "v_proj.bias", {4});
  }
  const LoadedModel model = load_model(ckpt.write(dir, "bias"));
  ASSERT_NE(model.weights.layers[1].bk, nullptr);
  EXPECT_EQ(model.weights.layers[1].bk[3], ckpt.tensors["model.layers.1.self_attn.k_proj.bias"].values[3]);
  EXPECT_EQ(model.weights.layers[0].bo, nullptr) << "Qwen2 has no o_proj bias";
}

TEST(ModelCheckpointErrors, MissingConfigKey) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.config.erase("num_attention_heads");
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "config.json");
  EXPECT_MENTIONS(message, "missing required key 'num_attention_heads'");
}

TEST(ModelCheckpointErrors, UnknownArchitecture) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.config["architectures"] = {"GPT2LMHeadModel"};
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "unknown architecture 'GPT2LMHeadModel'");
  EXPECT_MENTIONS(message, "LlamaForCausalLM");
}

TEST(ModelCheckpointErrors, TensorMissing) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.tensors.erase("model.layers.1.mlp.down_proj.weight");
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "tensor 'model.layers.1.mlp.down_proj.weight' is missing");
}

TEST(ModelCheckpointErrors, TensorOfTheWrongShape) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.add("model.layers.0.self_attn.k_proj.weight", {8, 8});  // MHA shape in a GQA config
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "model.safetensors");
  EXPECT_MENTIONS(message, "'model.layers.0.self_attn.k_proj.weight' has shape [8, 8], expected [4, 8]");
}

TEST(ModelCheckpointErrors, UnsupportedDtype) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.tensors["model.norm.weight"].dtype = "I32";
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "tensor 'model.norm.weight' has unsupported dtype I32");
}

TEST(ModelCheckpointErrors, TruncatedSafetensors) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  const std::string path = ckpt.write(dir);
  const fs::path file = fs::path(path) / "model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 10);
  std::string message = error_of([&] { load_model(path); });
  EXPECT_MENTIONS(message, "model.safetensors: truncated safetensors file");
  fs::resize_file(file, 100);  // inside the header
  message = error_of([&] { load_model(path); });
  EXPECT_MENTIONS(message, "truncated");
}

TEST(ModelCheckpointErrors, NotAModelPath) {
  test::ScratchDir dir;
  std::ofstream(dir.file("weights.pt")) << "x";
  EXPECT_MENTIONS(error_of([&] { load_model(dir.file("weights.pt")); }), "not a model");
  EXPECT_MENTIONS(error_of([&] { load_model(dir.file("absent")); }), "does not exist");
  EXPECT_MENTIONS(error_of([&] { load_model(dir.path().string()); }), "config.json");
}

TEST(ModelCheckpoint, Llama2cNegativeVocabMeansSeparateClassifier) {
  test::ScratchDir dir;
  const int D = 8, F = 12, L = 1, H = 2, G = 1, V = 16, S = 4, hd = D / H;
  const std::int32_t header[7] = {D, F, L, H, G, -V, S};
  const std::size_t n_floats = V * D + L * D + L * D * D + 2 * L * D * (G * hd) + L * D * D + L * D + 3 * L * D * F +
                               D + S * hd + V * D;
  std::vector<float> values(n_floats);
  for (std::size_t i = 0; i < n_floats; ++i) values[i] = static_cast<float>(i % 13) / 16.0f - 0.375f;
  std::ofstream out(dir.file("untied.bin"), std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  out.close();
  const LoadedModel model = load_model(dir.file("untied.bin"));
  EXPECT_FALSE(model.config.tie_word_embeddings);
  EXPECT_EQ(model.config.vocab_size, V);
  EXPECT_EQ(model.config.rope_pairing, RopePairing::interleaved);
  EXPECT_NE(model.weights.lm_head, model.weights.token_embedding);
  // The classifier is the last V*D floats, after the skipped freq_cis tables.
  EXPECT_EQ(model.weights.lm_head.at(0), values[n_floats - V * D]);
  EXPECT_EQ(model.weights.final_norm[0], values[n_floats - V * D - S * hd - D]);
  EXPECT_EQ(run_tokens(model, {1, 2}).size(), static_cast<std::size_t>(V));
}

TEST(ModelCheckpointErrors, TruncatedLlama2cCheckpoint) {
  test::ScratchDir dir;
  const std::int32_t header[7] = {8, 12, 1, 2, 1, 16, 32};  // dim, hidden, layers, heads, kv heads, vocab, seq
  std::ofstream out(dir.file("tiny.bin"), std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  const std::vector<float> too_few(100, 0.5f);
  out.write(reinterpret_cast<const char*>(too_few.data()), too_few.size() * 4);
  out.close();
  const std::string message = error_of([&] { load_model(dir.file("tiny.bin")); });
  EXPECT_MENTIONS(message, "tiny.bin");
  EXPECT_MENTIONS(message, "does not match the header");
}

TEST(ModelCheckpointErrors, CaptureCommandReportsTheBadFile) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.config.erase("rms_norm_eps");
  const std::string path = ckpt.write(dir);
  std::ofstream(dir.file("ids.txt")) << "1 2 3";
  const auto result = test::run_kvsim("capture --model " + path + " --tokens-file " + dir.file("ids.txt") +
                                      " --out " + dir.file("out.h5"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_MENTIONS(result.err, "missing required key 'rms_norm_eps'");
  EXPECT_FALSE(fs::exists(dir.file("out.h5")));
}

// ---------------------------------------------------- config vs checkpoint

#define EXPECT_NO_LIBRARY_TEXT(message)                                                  \
  EXPECT_EQ((message).find("[json.exception"), std::string::npos) << (message);         \
  EXPECT_EQ((message).find("filesystem error"), std::string::npos) << (message)

TEST(ModelCheckpointErrors, ConfigWithFewerLayersThanTheCheckpoint) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.config["num_hidden_layers"] = 1;
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "config.json");
  EXPECT_MENTIONS(message, "num_hidden_layers = 1");
  EXPECT_MENTIONS(message, "2 layers");
  EXPECT_MENTIONS(message, "--max-layers");
}

TEST(ModelCheckpointErrors, ConfigWithMoreLayersThanTheCheckpoint) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  ckpt.config["num_hidden_layers"] = 3;
  const std::string message = error_of([&] { load_model(ckpt.write(dir)); });
  EXPECT_MENTIONS(message, "num_hidden_layers = 3");
  EXPECT_MENTIONS(message, "2 layers");
}

TEST(ModelCheckpoint, MaxLayersRunsATruncatedModelOnPurpose) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  const std::string path = ckpt.write(dir);
  const LoadedModel full = load_model(path);
  const LoadedModel first = load_model(path, 1);
  EXPECT_EQ(first.config.n_layers, 1);
  EXPECT_EQ(first.weights.layers.size(), 1u);
  EXPECT_EQ(first.weights.layers[0].wq.at(5), full.weights.layers[0].wq.at(5));
  EXPECT_MENTIONS(error_of([&] { load_model(path, 3); }), "--max-layers 3");

  std::ofstream(dir.file("ids.txt")) << "1 2 3 4";
  const auto r = test::run_kvsim("capture --model " + path + " --tokens-file " + dir.file("ids.txt") +
                                 " --generate 2 --max-layers 1 --out " + dir.file("first.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_MENTIONS(r.err, "warning: --max-layers 1: recording the first 1 of 2 layers");
  const auto inspected = test::run_kvsim("inspect " + dir.file("first.h5"));
  EXPECT_MENTIONS(inspected.out, "first 1 of 2 layers");
}

TEST(ModelCheckpointErrors, HeadCountsMustBeIntegers) {
  test::ScratchDir dir;
  for (const char* key : {"num_attention_heads", "num_key_value_heads", "head_dim", "num_hidden_layers"}) {
    TinyCheckpoint ckpt;
    ckpt.config[key] = 2.5;
    const std::string message = error_of([&] { load_model(ckpt.write(dir, key)); });
    EXPECT_MENTIONS(message, std::string("config.json: ") + key + ": expected an integer, got 2.5");
    ckpt.config[key] = "2";
    const std::string quoted = error_of([&] { load_model(ckpt.write(dir, key)); });
    EXPECT_MENTIONS(quoted, std::string(key) + ": expected an integer, got \"2\"");
  }
  TinyCheckpoint integral;
  integral.config["num_attention_heads"] = 2.0;  // an integral float is the same count
  EXPECT_EQ(load_model(integral.write(dir, "integral")).config.n_heads, 2);
  TinyCheckpoint uneven;
  uneven.config["hidden_size"] = 8;
  uneven.config["num_attention_heads"] = 3;
  uneven.config["num_key_value_heads"] = 1;
  EXPECT_MENTIONS(error_of([&] { load_model(uneven.write(dir, "uneven")); }),
                  "hidden_size (8) is not divisible by num_attention_heads (3)");
}

TEST(ModelCheckpointErrors, RopeScalingOfTheWrongType) {
  test::ScratchDir dir;
  struct Case {
    json value;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"linear", "config.json: rope_scaling: expected an object"},
      {json{{"rope_type", 3}}, "config.json: rope_scaling.rope_type: expected a string, got 3"},
      {json{{"type", "linear"}, {"factor", "2"}}, "config.json: rope_scaling.factor: expected a number, got \"2\""},
      {json{{"type", "linear"}, {"factor", 0}}, "config.json: rope_scaling.factor: must be positive"},
      {json{{"rope_type", "llama3"}, {"factor", 8}, {"low_freq_factor", 4}, {"high_freq_factor", 4},
            {"original_max_position_embeddings", 8192}},
       "high_freq_factor"}};
  int i = 0;
  for (const Case& c : cases) {
    TinyCheckpoint ckpt;
    ckpt.config["rope_scaling"] = c.value;
    const std::string message = error_of([&] { load_model(ckpt.write(dir, "rs" + std::to_string(i++))); });
    EXPECT_MENTIONS(message, c.words);
    EXPECT_NO_LIBRARY_TEXT(message);
  }
}

TEST(ModelCheckpointErrors, OtherConfigTypesAndMalformedJsonNameTheFileAndKey) {
  test::ScratchDir dir;
  TinyCheckpoint eos;
  eos.config["eos_token_id"] = "</s>";
  std::string message = error_of([&] { load_model(eos.write(dir, "eos")); });
  EXPECT_MENTIONS(message, "config.json: eos_token_id: expected an integer or a list of integers");
  EXPECT_NO_LIBRARY_TEXT(message);

  TinyCheckpoint flag;
  flag.config["tie_word_embeddings"] = "yes";
  message = error_of([&] { load_model(flag.write(dir, "flag")); });
  EXPECT_MENTIONS(message, "config.json: tie_word_embeddings: expected true or false");

  const std::string broken = TinyCheckpoint().write(dir, "broken");
  std::ofstream(broken + "/config.json") << "{\"architectures\": [\"LlamaForCausalLM\"],";
  message = error_of([&] { load_model(broken); });
  EXPECT_MENTIONS(message, "config.json: not valid JSON: ");
  EXPECT_NO_LIBRARY_TEXT(message);

  // The same through the command line: one line, no library text.
  std::ofstream(dir.file("ids.txt")) << "1 2 3";
  const auto r = test::run_kvsim("capture --model " + eos.write(dir, "eos") + " --tokens-file " + dir.file("ids.txt") +
                                 " --out " + dir.file("o.h5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_MENTIONS(r.err, "eos_token_id");
  EXPECT_NO_LIBRARY_TEXT(r.err);
}

TEST(ModelCheckpointErrors, MalformedSafetensorsEntriesNameTheTensor) {
  test::ScratchDir dir;
  const std::string path = TinyCheckpoint().write(dir);
  const std::string header = "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": \"x\", \"data_offsets\": [0, 32]}}";
  std::ofstream out(path + "/model.safetensors", std::ios::binary);
  const std::uint64_t len = header.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << header << std::string(32, '\0');
  out.close();
  const std::string message = error_of([&] { load_model(path); });
  EXPECT_MENTIONS(message, "model.safetensors: tensor 'model.norm.weight'");
  EXPECT_MENTIONS(message, "shape");
  EXPECT_NO_LIBRARY_TEXT(message);
}

TEST(ModelCheckpointErrors, OverlappingTensorDataIsRefused) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  const std::string path = ckpt.write(dir);
  // Point layer 1's input norm at layer 0's bytes: both [8] F32.
  std::ifstream in(path + "/model.safetensors", std::ios::binary);
  std::uint64_t len = 0;
  in.read(reinterpret_cast<char*>(&len), 8);
  std::string text(len, ' ');
  in.read(text.data(), static_cast<std::streamsize>(len));
  const std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  json header = json::parse(text);
  header["model.layers.1.input_layernorm.weight"]["data_offsets"] =
      header["model.layers.0.input_layernorm.weight"]["data_offsets"];
  std::string patched = header.dump();
  while (patched.size() < len) patched += ' ';
  ASSERT_EQ(patched.size(), len) << "the patched header must keep its length";
  std::ofstream out(path + "/model.safetensors", std::ios::binary);
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << patched << rest;
  out.close();
  const std::string message = error_of([&] { load_model(path); });
  EXPECT_MENTIONS(message, "model.safetensors");
  EXPECT_MENTIONS(message, "overlap");
  EXPECT_MENTIONS(message, "model.layers.0.input_layernorm.weight");
  EXPECT_MENTIONS(message, "model.layers.1.input_layernorm.weight");
}

TEST(ModelCheckpointErrors, NonFiniteWeightsNameTheTensor) {
  test::ScratchDir dir;
  // F32 is checked in place, BF16 after widening (F16 shares that path; the
  // fixture's F16 encoder covers small normal values only).
  for (const std::string dtype : {"F32", "BF16"}) {
    TinyCheckpoint ckpt;
    for (auto& [name, t] : ckpt.tensors) t.dtype = dtype;
    ckpt.tensors["model.layers.1.mlp.up_proj.weight"].values[13] = std::numeric_limits<float>::infinity();
    const std::string message = error_of([&] { load_model(ckpt.write(dir, dtype)); });
    EXPECT_MENTIONS(message, "tensor 'model.layers.1.mlp.up_proj.weight' has a non-finite value (inf) at index 13");
  }
  TinyCheckpoint nan;
  nan.tensors["model.norm.weight"].values[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_MENTIONS(error_of([&] { load_model(nan.write(dir, "nan")); }),
                  "tensor 'model.norm.weight' has a non-finite value (nan) at index 2");
}

TEST(ModelCheckpointErrors, NonFiniteLlama2cWeightsNameTheTensor) {
  test::ScratchDir dir;
  const int D = 8, F = 12, L = 1, H = 2, G = 1, V = 16, S = 4, hd = D / H;
  const std::int32_t header[7] = {D, F, L, H, G, V, S};
  const std::size_t n_floats = V * D + L * D + L * D * D + 2 * L * D * (G * hd) + L * D * D + L * D + 3 * L * D * F +
                               D + S * hd;
  std::vector<float> values(n_floats, 0.25f);
  values[V * D + L * D + 5] = std::numeric_limits<float>::quiet_NaN();  // wq of layer 0, element 5
  std::ofstream out(dir.file("nan.bin"), std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  out.close();
  const std::string message = error_of([&] { load_model(dir.file("nan.bin")); });
  EXPECT_MENTIONS(message, "nan.bin");
  EXPECT_MENTIONS(message, "layer 0 wq has a non-finite value (nan) at index 5");
}

TEST(ModelCheckpointErrors, NonFiniteActivationsStopTheCapture) {
  test::ScratchDir dir;
  TinyCheckpoint ckpt;
  // Finite weights whose MLP overflows float32: the residual stream entering
  // layer 1 becomes inf, and its RMSNorm turns that into NaN.
  for (auto& x : ckpt.tensors["model.layers.0.post_attention_layernorm.weight"].values) x = 3e38f;
  for (auto& x : ckpt.tensors["model.layers.0.mlp.down_proj.weight"].values) x = 3e38f;
  const std::string path = ckpt.write(dir);
  std::ofstream(dir.file("ids.txt")) << "1 2 3 4";
  const auto r = test::run_kvsim("capture --model " + path + " --tokens-file " + dir.file("ids.txt") +
                                 " --generate 2 --out " + dir.file("nan.h5"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_MENTIONS(r.err, "non-finite");
  EXPECT_MENTIONS(r.err, "layer 1");
  EXPECT_FALSE(fs::exists(dir.file("nan.h5")));
}

}  // namespace
}  // namespace kvsim
