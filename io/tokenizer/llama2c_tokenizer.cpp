#include "io/tokenizer/llama2c_tokenizer.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>

#include "io/errors.hpp"
#include "io/tokenizer/utf8.hpp"

namespace kvsim {

Llama2cTokenizer::Llama2cTokenizer(const std::string& path, int vocab_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open tokenizer");
  std::int32_t max_token_length = 0;
  if (!in.read(reinterpret_cast<char*>(&max_token_length), 4) || max_token_length <= 0)
    throw InputError(path + ": not a llama2.c tokenizer (bad max_token_length)");
  if (vocab_size <= 0) throw InputError(path + ": vocabulary size must be positive, got " + std::to_string(vocab_size));
  pieces_.reserve(static_cast<std::size_t>(vocab_size));
  for (int id = 0; id < vocab_size; ++id) {
    float score = 0;
    std::int32_t len = 0;
    if (!in.read(reinterpret_cast<char*>(&score), 4) || !in.read(reinterpret_cast<char*>(&len), 4) || len < 0 ||
        len > 1024) {
      throw InputError(path + ": truncated llama2.c tokenizer at id " + std::to_string(id) + " of " +
                       std::to_string(vocab_size) + " (does it belong to this model?)");
    }
    std::string piece(static_cast<std::size_t>(len), '\0');
    if (len > 0 && !in.read(piece.data(), len))
      throw InputError(path + ": truncated llama2.c tokenizer at id " + std::to_string(id));
    ids_.emplace(piece, id);  // first occurrence wins, as run.c's sorted lookup does for unique pieces
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
  }
}

int Llama2cTokenizer::lookup(const std::string& piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int> Llama2cTokenizer::encode(const std::string& text) const {
  std::vector<int> tokens;
  if (text.empty()) return tokens;
  // run.c adds the " " piece first, the SentencePiece "add_dummy_prefix".
  if (int dummy = lookup(" "); dummy >= 0) tokens.push_back(dummy);
  for (const std::string& cp : utf8::split_code_points(text)) {
    if (int id = lookup(cp); id >= 0) {
      tokens.push_back(id);
    } else {
      for (unsigned char byte : cp) {
        // <0x00> is id 3; a vocabulary without the 256 byte pieces cannot
        // spell this character (found by tests/fuzz/fuzz_llama2c_tokenizer).
        const int id = byte + 3;
        if (id >= vocab_size())
          throw InputError("llama2.c tokenizer has no byte-fallback piece for byte " +
                           std::to_string(byte) + " (vocabulary of " + std::to_string(vocab_size()) +
                           " pieces)");
        tokens.push_back(id);
      }
    }
  }
  while (true) {
    float best_score = -1e10f;
    int best_id = -1;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
      int id = lookup(pieces_[tokens[i]] + pieces_[tokens[i + 1]]);
      if (id >= 0 && scores_[id] > best_score) {
        best_score = scores_[id];
        best_id = id;
        best_index = i;
      }
    }
    if (best_id < 0) break;
    tokens[best_index] = best_id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_index) + 1);
  }
  return tokens;
}

std::string Llama2cTokenizer::piece_bytes(int id) const {
  const std::string& piece = pieces_.at(id);
  unsigned int byte = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>", &byte) == 1)
    return std::string(1, static_cast<char>(byte));
  return piece;
}

std::string Llama2cTokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  int previous = -1;
  for (int id : ids) {
    if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
    if (id == bos_id || id == eos_id) {
      previous = id;
      continue;
    }
    std::string piece = piece_bytes(id);
    // run.c: the first piece after BOS drops its leading (dummy-prefix) space.
    if ((previous == bos_id || previous == -1) && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    out += piece;
    previous = id;
  }
  return out;
}

std::string Llama2cTokenizer::token_text(int id) const {
  if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
  std::string text = piece_bytes(id);
  return utf8::is_valid(text) ? text : pieces_[id];
}

}  // namespace kvsim
