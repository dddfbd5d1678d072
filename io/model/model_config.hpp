#pragma once
// The architecture hyper-parameters of a Llama-family decoder, whatever file
// format they came from (HF config.json or a llama2.c header).
#include <string>
#include <vector>

namespace kvsim {

// How RoPE pairs the elements of a head. llama2.c checkpoints rotate adjacent
// pairs (2i, 2i+1); HF Llama checkpoints rotate the halves (i, i + d/2). Using
// the wrong one still runs but produces garbage, so it is part of the config.
enum class RopePairing { interleaved, rotate_half };

// RoPE frequency scaling from HF `rope_scaling` (Llama 3.x uses "llama3").
struct RopeScaling {
  std::string type = "none";  // none | linear | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string architecture;  // e.g. LlamaForCausalLM, Qwen2ForCausalLM, llama2c
  int hidden_size = 0;
  int intermediate_size = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopePairing rope_pairing = RopePairing::rotate_half;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2, or Llama with attention_bias
  bool o_bias = false;    // Llama with attention_bias
  bool mlp_bias = false;  // Llama with mlp_bias
  bool qk_norm = false;   // Qwen3: RMSNorm over each head of q and k before RoPE
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // Throws InputError("<where>: ...") for inconsistent sizes (e.g. heads not a
  // multiple of KV heads).
  void validate(const std::string& where) const;
};

}  // namespace kvsim
