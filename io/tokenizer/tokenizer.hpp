#pragma once
// Text <-> token ids for the models kvsim can capture from. Encoding never
// adds BOS/EOS: the capture decides that from the model config.
#include <string>
#include <vector>

namespace kvsim {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int> encode(const std::string& text) const = 0;
  // Human-readable text of a sequence; special tokens (BOS/EOS/...) are left out.
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  // Display text of one token (valid UTF-8; raw "<0xNN>" for a lone partial byte).
  virtual std::string token_text(int id) const = 0;
  virtual int vocab_size() const = 0;
};

}  // namespace kvsim
