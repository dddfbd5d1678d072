#pragma once
// Finds and opens the tokenizer that belongs to a model, and reads
// --tokens-file (whitespace-separated ids) for models without one.
#include <memory>
#include <string>
#include <vector>

#include "io/model/model_weights.hpp"
#include "io/tokenizer/tokenizer.hpp"

namespace kvsim {

// `explicit_path` empty: look beside the model (DIR/tokenizer.json for HF;
// tokenizer.bin or tok<vocab>.bin next to a llama2.c .bin). Returns nullptr
// when none is found and none was asked for.
std::unique_ptr<Tokenizer> load_tokenizer(const LoadedModel& model, const std::string& model_path,
                                          const std::string& explicit_path);

// Throws InputError naming the file and the offending word or id.
std::vector<int> read_token_ids_file(const std::string& path, int vocab_size);

}  // namespace kvsim
