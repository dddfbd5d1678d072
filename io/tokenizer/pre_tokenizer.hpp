#pragma once
// tokenizer.json pre-tokenizers: cut normalised text into the words BPE
// merges within. Supported: Sequence, Split (regex or literal, all five
// behaviours, invert), ByteLevel (optional GPT-2 regex and prefix space),
// Metaspace, Digits. Anything else is refused when the file is loaded.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kvsim {

class UnicodeRegex;

struct PreTokenizedPiece {
  std::string text;
  bool starts_text = false;  // no added token and no other piece before it
};

class PreTokenizer {
 public:
  enum class Kind { split, byte_level, metaspace, digits };
  enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

  // Flattens Sequence; `where` names the file in errors. null -> no steps.
  static std::vector<PreTokenizer> parse(const nlohmann::json& node, const std::string& where);

  void apply(std::vector<PreTokenizedPiece>& pieces) const;
  Kind kind() const { return kind_; }

 private:
  void split(const PreTokenizedPiece& piece, const UnicodeRegex& regex, Behavior behavior, bool invert,
             std::vector<PreTokenizedPiece>& out) const;

  Kind kind_ = Kind::split;
  std::shared_ptr<const UnicodeRegex> regex_;
  Behavior behavior_ = Behavior::isolated;
  bool invert_ = false;
  bool add_prefix_space_ = false;  // ByteLevel
  bool use_regex_ = false;         // ByteLevel: GPT-2's own regex first
  std::string replacement_;        // Metaspace
  std::string prepend_scheme_;     // Metaspace: always | first | never
  bool metaspace_split_ = true;
  bool individual_digits_ = false;
};

}  // namespace kvsim
