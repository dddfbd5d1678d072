#pragma once
// Float32 views of every weight a Llama-family forward pass reads, in the HF
// row-major [out, in] layout. The pointers stay valid as long as the
// LoadedModel that owns `storage` lives: fp32 tensors point straight into the
// memory-mapped checkpoint, f16/bf16 ones into a single widened copy.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "io/model/model_config.hpp"

namespace kvsim {

struct LayerWeights {
  const float* attn_norm = nullptr;  // [D]
  const float* wq = nullptr;         // [H*d, D]
  const float* wk = nullptr;         // [G*d, D]
  const float* wv = nullptr;         // [G*d, D]
  const float* wo = nullptr;         // [D, H*d]
  const float* bq = nullptr;         // optional biases
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* bo = nullptr;
  const float* q_norm = nullptr;    // [d] Qwen3: per-head RMSNorm of q (and k) before RoPE
  const float* k_norm = nullptr;    // [d]
  const float* ffn_norm = nullptr;  // [D]
  const float* w_gate = nullptr;    // [F, D]  (llama2.c w1)
  const float* w_up = nullptr;      // [F, D]  (llama2.c w3)
  const float* w_down = nullptr;    // [D, F]  (llama2.c w2)
  const float* b_gate = nullptr;
  const float* b_up = nullptr;
  const float* b_down = nullptr;
};

struct ModelWeights {
  const float* token_embedding = nullptr;  // [V, D]
  const float* final_norm = nullptr;       // [D]
  const float* lm_head = nullptr;          // [V, D]; == token_embedding when tied
  std::vector<LayerWeights> layers;
};

// Keeps the memory maps and widened copies that ModelWeights points into.
struct WeightStorage {
  std::vector<std::shared_ptr<const void>> keep_alive;
  std::deque<std::vector<float>> widened;  // deque: growing never moves existing buffers
};

struct LoadedModel {
  ModelConfig config;
  ModelWeights weights;
  std::string format;  // "hf-safetensors" | "llama2c"
  std::string name;    // e.g. the directory name
  // Layers the checkpoint holds; config.n_layers is smaller when the caller
  // asked for a truncated model (load_model's max_layers).
  int checkpoint_layers = 0;
  std::shared_ptr<WeightStorage> storage;
};

}  // namespace kvsim
