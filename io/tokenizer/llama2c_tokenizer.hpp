#pragma once
// The llama2.c tokenizer file (tokenizer.bin / tok512.bin): int32
// max_token_length, then per id {float32 score, int32 len, len bytes}.
// Encoding follows run.c: a dummy-prefix " " token, one token per UTF-8 code
// point (byte fallback to ids 3 + byte), then greedy merges of the adjacent
// pair whose concatenation has the highest score.
#include <string>
#include <unordered_map>
#include <vector>

#include "io/tokenizer/tokenizer.hpp"

namespace kvsim {

class Llama2cTokenizer : public Tokenizer {
 public:
  // `vocab_size` comes from the model header (the file does not store it).
  Llama2cTokenizer(const std::string& path, int vocab_size);

  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  std::string token_text(int id) const override;
  int vocab_size() const override { return static_cast<int>(pieces_.size()); }

  static constexpr int bos_id = 1;
  static constexpr int eos_id = 2;

 private:
  int lookup(const std::string& piece) const;  // -1 when absent
  std::string piece_bytes(int id) const;       // "<0xNN>" pieces as their raw byte

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace kvsim
