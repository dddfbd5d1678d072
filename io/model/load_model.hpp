#pragma once
// Picks the loader from the path: a directory is an HF checkpoint, a .bin
// file a llama2.c checkpoint.
#include <string>

#include "io/model/model_weights.hpp"

namespace kvsim {

LoadedModel load_model(const std::string& path);

}  // namespace kvsim
