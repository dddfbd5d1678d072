#pragma once
// Picks the loader from the path: a directory is an HF checkpoint, a .bin
// file a llama2.c checkpoint.
#include <string>

#include "io/model/model_weights.hpp"

namespace kvsim {

// max_layers > 0 keeps only the first max_layers layers (an intentionally
// truncated model, `kvsim capture --max-layers`); 0 = all of them.
LoadedModel load_model(const std::string& path, int max_layers = 0);

}  // namespace kvsim
