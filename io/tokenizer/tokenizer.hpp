#pragma once
// Text <-> token ids for the models kvsim can capture from. encode() never
// adds special tokens; with_special_tokens() adds what the tokenizer's own
// post-processor adds (Hugging Face's tokenizer(text)).
#include <optional>
#include <string>
#include <vector>

namespace kvsim {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int> encode(const std::string& text) const = 0;
  // Human-readable text of a sequence; special tokens (BOS/EOS/...) are left out.
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  // The same with the special tokens written out.
  virtual std::string decode_with_special_tokens(const std::vector<int>& ids) const { return decode(ids); }
  // Display text of one token (valid UTF-8; raw "<0xNN>" for a lone partial byte).
  virtual std::string token_text(int id) const = 0;
  virtual int vocab_size() const = 0;
  // `ids` inside the special tokens the tokenizer's post-processor puts
  // around one sequence (Llama-3: BOS before; Qwen: none). nullopt when the
  // tokenizer does not say (llama2.c), and the model config's BOS is used.
  virtual std::optional<std::vector<int>> with_special_tokens(const std::vector<int>& ids) const {
    return std::nullopt;
  }
};

}  // namespace kvsim
