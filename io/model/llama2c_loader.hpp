#pragma once
// Loads a llama2.c checkpoint (legacy "version 0" export: a header of 7 int32
// {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}, then
// fp32 tensors). A negative vocab_size means the classifier is stored
// separately after the freq_cis tables (untied). The file is memory-mapped and
// used in place. llama2.c rotates adjacent RoPE pairs (interleaved) and uses
// RMSNorm eps 1e-5, theta 10000, as in run.c.
#include <string>

#include "io/model/model_weights.hpp"

namespace kvsim {

// Throws InputError naming the file for a bad header or a size mismatch.
// max_layers as in load_model().
LoadedModel load_llama2c_model(const std::string& bin_path, int max_layers = 0);

}  // namespace kvsim
