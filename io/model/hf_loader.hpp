#pragma once
// Loads an HF LlamaForCausalLM-family directory (config.json + safetensors).
#include <string>

#include "io/model/model_weights.hpp"

namespace kvsim {

// Throws InputError naming the file and tensor/key at fault.
// max_layers as in load_model().
LoadedModel load_hf_model(const std::string& directory, int max_layers = 0);

}  // namespace kvsim
