#pragma once
// Hugging Face tokenizer.json with a BPE model of the SentencePiece kind
// (Llama-2, TinyLlama, tinystories-656k). Like the Rust `tokenizers`: added
// tokens with normalized=false are split off the raw text, the rest is
// normalised (Prepend/Replace) and split on the normalised form of the other
// added tokens, no pre-tokenizer or Metaspace, merges applied
// by rank, unknown characters via byte fallback "<0xNN>" (else <unk>), and
// the Replace/ByteFallback/Fuse/Strip/Metaspace decoders. Byte-level BPE
// (GPT-2 / Llama-3 / Qwen2) needs a Unicode regex pre-tokenizer and is refused
// with a clear message; use --tokens-file for those models.
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/tokenizer/tokenizer.hpp"

namespace kvsim {

class HfBpeTokenizer : public Tokenizer {
 public:
  explicit HfBpeTokenizer(const std::string& tokenizer_json_path);

  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  std::string token_text(int id) const override;
  int vocab_size() const override { return static_cast<int>(pieces_.size()); }

  int id_of(const std::string& piece) const;  // -1 when absent

  struct TextOp {  // one normalizer or decoder step
    std::string type;
    std::string from, to;   // Replace / Prepend(to) / Metaspace(to = replacement)
    int start = 0, stop = 0;  // Strip
    bool prepend = true;      // Metaspace decoder: strip the leading space it added
  };

 private:
  std::string normalize(const std::string& text) const;
  std::vector<int> encode_normalized(const std::string& text, bool first_segment) const;
  std::vector<int> bpe_word(const std::string& word) const;
  std::vector<std::string> decode_pieces(std::vector<std::string> pieces, bool strip) const;

  std::string path_;
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int> ids_;
  std::map<std::pair<int, int>, std::pair<int, int>> merges_;  // (left, right) -> (rank, merged id)
  // Added tokens as matched: raw content (normalized=false) in the input text,
  // normalised content (normalized=true) in the normalised text; longest first.
  std::vector<std::pair<std::string, int>> raw_added_, normalized_added_;
  std::vector<bool> special_;
  std::vector<TextOp> normalizers_;
  std::vector<TextOp> decoders_;
  bool metaspace_pre_tokenizer_ = false;
  std::string metaspace_replacement_ = "\xe2\x96\x81";
  std::string metaspace_prepend_scheme_ = "always";
  bool metaspace_split_ = true;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  int unk_id_ = -1;
};

}  // namespace kvsim
