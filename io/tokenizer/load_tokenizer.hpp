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

// A tokenizer.json file, or a directory holding one (kvsim tokenize).
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& file_or_directory);

// The ids of a prompt: with add_special, inside the tokenizer's own special
// tokens (its post-processor, as Hugging Face's tokenizer(text) does), or,
// when the tokenizer does not say (llama2.c), after the config's BOS.
std::vector<int> encode_prompt(const Tokenizer& tokenizer, const std::string& text, int config_bos_id,
                               bool add_special);

// Whitespace-separated token ids, each in [0, vocab_size). Throws InputError
// naming `source` and the offending word or id.
std::vector<int> parse_token_ids(const std::string& text, int vocab_size, const std::string& source);

// Throws InputError naming the file and the offending word or id.
std::vector<int> read_token_ids_file(const std::string& path, int vocab_size);

}  // namespace kvsim
