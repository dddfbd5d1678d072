#pragma once
// Every weight a Llama-family forward pass reads, in the HF row-major
// [out, in] layout. The pointers stay valid as long as the LoadedModel that
// owns `storage` lives. Matrices point straight into the memory-mapped
// checkpoint in its own dtype (weight_matrix.hpp: f16/bf16 are widened as a
// product uses them); the small vectors (norms, biases) are float32, widened
// once at load.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "io/model/model_config.hpp"
#include "io/model/weight_matrix.hpp"

namespace kvsim {

struct LayerWeights {
  const float* attn_norm = nullptr;  // [D]
  WeightMatrix wq;                   // [H*d, D]
  WeightMatrix wk;                   // [G*d, D]
  WeightMatrix wv;                   // [G*d, D]
  WeightMatrix wo;                   // [D, H*d]
  const float* bq = nullptr;         // optional biases
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* bo = nullptr;
  const float* q_norm = nullptr;    // [d] Qwen3: per-head RMSNorm of q (and k) before RoPE
  const float* k_norm = nullptr;    // [d]
  const float* ffn_norm = nullptr;  // [D]
  WeightMatrix w_gate;              // [F, D]  (llama2.c w1)
  WeightMatrix w_up;                // [F, D]  (llama2.c w3)
  WeightMatrix w_down;              // [D, F]  (llama2.c w2)
  const float* b_gate = nullptr;
  const float* b_up = nullptr;
  const float* b_down = nullptr;
};

struct ModelWeights {
  WeightMatrix token_embedding;            // [V, D]
  const float* final_norm = nullptr;       // [D]
  WeightMatrix lm_head;                    // [V, D]; == token_embedding when tied
  std::vector<LayerWeights> layers;
};

// Keeps the memory maps and copies that ModelWeights points into.
struct WeightStorage {
  std::vector<std::shared_ptr<const void>> keep_alive;
  std::deque<std::vector<float>> widened;  // deque: growing never moves existing buffers
  std::deque<std::vector<std::uint16_t>> realigned;  // 2-byte tensors at an odd file offset
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
