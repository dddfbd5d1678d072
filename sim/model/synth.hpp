#pragma once
// Seeded synthetic dumps with the structure eviction research depends on:
// an attention-sink token, RoPE-rotated q/k, keys concentrated around a shared
// direction with a distinctive minority, "retrieval" tokens that the future
// queries attend to, and GQA. Same config + seed => identical dataset bytes.
#include <cstdint>
#include <functional>
#include <string>

#include "io/kvdump.hpp"

namespace kvsim {

struct SynthConfig {
  int n_layers = 2;
  int n_heads = 8;
  int n_kv_heads = 2;
  int head_dim = 32;
  int hidden_size = 0;        // 0 => n_heads * head_dim
  int n_tokens = 512;
  int context_len = 0;        // 0 => n_tokens - 64 (at least 1 future token)
  bool with_o_proj = true;
  bool with_q_pre_rope = false;
  double rope_theta = 10000.0;
  std::uint64_t seed = 0;
  StorageType storage = StorageType::f32;
  double distinctive_fraction = 0.1;  // keys off the shared direction
  int n_retrieval = 4;                // context tokens the future queries look up
  std::string model = "synthetic";

  DumpAttrs attrs() const;  // validated shape attributes of the dump
};

// One layer's tensors; deterministic in (config, layer).
LayerTensors synth_layer(const SynthConfig& config, int layer);

// Token ids of the synthetic sequence (deterministic in the seed).
std::vector<int> synth_tokens(const SynthConfig& config);

// Writes the whole dump layer by layer (one layer in memory at a time);
// on_layer_written(done, total) reports progress.
void write_synth_dump(const SynthConfig& config, const std::string& path,
                      const std::function<void(int, int)>& on_layer_written = {});

}  // namespace kvsim
