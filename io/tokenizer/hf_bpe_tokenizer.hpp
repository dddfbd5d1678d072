#pragma once
// Hugging Face tokenizer.json with a BPE model, as the Rust `tokenizers`
// crate runs it: added tokens with normalized=false are split off the raw
// text, the rest is normalised (Prepend, Replace, NFC/NFD/NFKC/NFKD) and split
// on the normalised form of the other added tokens, then pre-tokenized
// (pre_tokenizer.hpp: Split regexes through PCRE2, ByteLevel, Metaspace,
// Digits), and each word merged by rank (ignore_merges, byte fallback
// "<0xNN>", else <unk>). This covers the SentencePiece kind (Llama-2,
// TinyLlama, tinystories-656k) and byte-level BPE (GPT-2, Llama-3, Qwen2/3,
// Mistral-Nemo). Decoders: Replace, ByteFallback, Fuse, Strip, Metaspace,
// ByteLevel. Post-processors: TemplateProcessing, Bert/Roberta, ByteLevel,
// Sequence. Anything else is refused when the file is loaded, by name.
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/tokenizer/pre_tokenizer.hpp"
#include "io/tokenizer/tokenizer.hpp"

namespace kvsim {

class HfBpeTokenizer : public Tokenizer {
 public:
  explicit HfBpeTokenizer(const std::string& tokenizer_json_path);

  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  std::string token_text(int id) const override;
  int vocab_size() const override { return static_cast<int>(pieces_.size()); }
  std::optional<std::vector<int>> with_special_tokens(const std::vector<int>& ids) const override;
  std::string decode_with_special_tokens(const std::vector<int>& ids) const override;

  int id_of(const std::string& piece) const;  // -1 when absent

  struct TextOp {  // one normalizer or decoder step
    std::string type;
    std::string from, to;   // Replace / Prepend(to) / Metaspace(to = replacement)
    int start = 0, stop = 0;  // Strip
    bool prepend = true;      // Metaspace decoder: strip the leading space it added
  };

 private:
  std::string normalize(const std::string& text) const;
  std::vector<int> encode_normalized(const std::string& text, bool starts_text) const;
  std::vector<int> bpe_word(const std::string& word) const;
  std::vector<std::string> decode_pieces(std::vector<std::string> pieces, bool strip) const;
  std::string decode_ids(const std::vector<int>& ids, bool skip_special) const;

  struct PairHash {
    std::size_t operator()(const std::pair<int, int>& p) const noexcept {
      return std::hash<long long>()((static_cast<long long>(p.first) << 32) ^ static_cast<unsigned>(p.second));
    }
  };

  std::string path_;
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<std::pair<int, int>, std::pair<int, int>, PairHash> merges_;  // -> (rank, merged id)
  // Added tokens as matched: raw content (normalized=false) in the input text,
  // normalised content (normalized=true) in the normalised text; longest first.
  std::vector<std::pair<std::string, int>> raw_added_, normalized_added_;
  std::vector<bool> special_;
  std::vector<TextOp> normalizers_;
  std::vector<PreTokenizer> pre_tokenizers_;
  std::vector<TextOp> decoders_;
  // The single-sequence template: ids around the sequence (-1 marks it);
  // nullopt when tokenizer.json has no post_processor.
  std::optional<std::vector<int>> post_template_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  int unk_id_ = -1;
};

}  // namespace kvsim
