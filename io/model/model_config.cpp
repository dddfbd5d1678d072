#include "io/model/model_config.hpp"

#include "io/errors.hpp"

namespace kvsim {

void ModelConfig::validate(const std::string& where) const {
  auto positive = [&](int value, const char* name) {
    if (value <= 0) throw InputError(where + ": " + name + " must be positive, got " + std::to_string(value));
  };
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(n_layers, "num_hidden_layers");
  positive(n_heads, "num_attention_heads");
  positive(n_kv_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(vocab_size, "vocab_size");
  if (n_heads % n_kv_heads != 0) {
    throw InputError(where + ": num_attention_heads (" + std::to_string(n_heads) +
                     ") is not a multiple of num_key_value_heads (" + std::to_string(n_kv_heads) + ")");
  }
  if (head_dim % 2 != 0) throw InputError(where + ": head_dim must be even for RoPE, got " + std::to_string(head_dim));
  if (!(rms_norm_eps > 0)) throw InputError(where + ": rms_norm_eps must be positive");
  if (!(rope_theta > 0)) throw InputError(where + ": rope_theta must be positive");
}

}  // namespace kvsim
