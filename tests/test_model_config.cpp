// HF config.json parsing for the Llama family: GQA/head_dim defaults, the
// Qwen2 and attention_bias switches, llama3 RoPE scaling, and refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "io/errors.hpp"
#include "io/model/hf_config.hpp"
#include "sim/model/rope.hpp"

namespace kvsim {
namespace {

using nlohmann::json;

json llama_3_2_1b_config() {  // the fields of meta-llama/Llama-3.2-1B's config.json that matter here
  return {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 2048}, {"intermediate_size", 8192},
          {"num_hidden_layers", 16}, {"num_attention_heads", 32}, {"num_key_value_heads", 8}, {"head_dim", 64},
          {"vocab_size", 128256}, {"rms_norm_eps", 1e-5}, {"rope_theta", 500000.0}, {"tie_word_embeddings", true},
          {"bos_token_id", 128000}, {"eos_token_id", 128001}, {"hidden_act", "silu"},
          {"rope_scaling", {{"factor", 32.0}, {"high_freq_factor", 4.0}, {"low_freq_factor", 1.0},
                            {"original_max_position_embeddings", 8192}, {"rope_type", "llama3"}}}};
}

TEST(ModelConfig, Llama32WithLlama3RopeScaling) {
  const ModelConfig c = parse_hf_config_text(llama_3_2_1b_config().dump(), "config.json");
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rope_pairing, RopePairing::rotate_half);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{128001});
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  const Rope rope(c);
  const auto& inv = rope.inverse_frequencies();
  ASSERT_EQ(inv.size(), 32u);
  // Short wavelengths (< 8192/4 positions) keep their frequency...
  EXPECT_DOUBLE_EQ(inv[0], 1.0);
  EXPECT_NEAR(inv[4], std::pow(500000.0, -8.0 / 64), 1e-15);
  // ...long ones (> 8192 positions) are slowed down by `factor`.
  EXPECT_NEAR(inv[31], std::pow(500000.0, -62.0 / 64) / 32, 1e-18);
  const double pi = std::acos(-1.0);
  for (std::size_t i = 0; i < inv.size(); ++i) {  // in between: between the two
    const double base = std::pow(500000.0, -2.0 * i / 64);
    EXPECT_LE(inv[i], base * (1 + 1e-12));
    EXPECT_GE(inv[i], base / 32 * (1 - 1e-12));
    if (2 * pi / base > 8192) EXPECT_NEAR(inv[i], base / 32, base * 1e-12) << i;
  }
}

TEST(ModelConfig, DefaultsAndFamilySwitches) {
  json j = llama_3_2_1b_config();
  j.erase("head_dim");
  j.erase("num_key_value_heads");
  j.erase("rope_scaling");
  j["eos_token_id"] = {128001, 128009};
  j["attention_bias"] = true;
  ModelConfig c = parse_hf_config_text(j.dump(), "config.json");
  EXPECT_EQ(c.head_dim, 2048 / 32) << "head_dim defaults to hidden_size / heads";
  EXPECT_EQ(c.n_kv_heads, 32) << "no num_key_value_heads: multi-head attention";
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{128001, 128009}));
  EXPECT_TRUE(c.qkv_bias && c.o_bias);
  j["architectures"] = {"Qwen2ForCausalLM"};
  j.erase("attention_bias");
  c = parse_hf_config_text(j.dump(), "config.json");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  j["architectures"] = {"MistralForCausalLM"};
  EXPECT_FALSE(parse_hf_config_text(j.dump(), "config.json").qkv_bias);
}

TEST(ModelConfig, RefusesWhatItCannotRunFaithfully) {
  auto message = [](const json& j) {
    try {
      parse_hf_config_text(j.dump(), "dir/config.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  json j = llama_3_2_1b_config();
  j["rope_scaling"]["rope_type"] = "yarn";
  EXPECT_NE(message(j).find("rope_scaling type 'yarn' is not supported"), std::string::npos) << message(j);
  j = llama_3_2_1b_config();
  j["hidden_act"] = "gelu";
  EXPECT_NE(message(j).find("hidden_act 'gelu'"), std::string::npos) << message(j);
  j = llama_3_2_1b_config();
  j["num_key_value_heads"] = 5;
  EXPECT_NE(message(j).find("not a multiple of num_key_value_heads"), std::string::npos) << message(j);
  j = llama_3_2_1b_config();
  j["vocab_size"] = "many";
  EXPECT_NE(message(j).find("dir/config.json: vocab_size: expected an integer, got \"many\""), std::string::npos)
      << message(j);
  EXPECT_NE(message(json::array()).find("not a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
