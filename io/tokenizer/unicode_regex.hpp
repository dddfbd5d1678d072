#pragma once
// A tokenizer.json regex (written for Oniguruma, which the Rust `tokenizers`
// crate uses) compiled with PCRE2 in UTF + Unicode-property mode. PCRE2 and
// Oniguruma agree on the constructs these patterns use (\p{L}, \p{N}, (?i:),
// look-ahead, possessive-free quantifiers) except `\s`: Oniguruma's is the
// Unicode White_Space property, PCRE2's lacks U+0085 (NEL), so `\s` and `\S`
// are widened to include it before compiling.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kvsim {

class UnicodeRegex {
 public:
  // `where` names the file and field in error messages. literal = true matches
  // the pattern as plain text (tokenizer.json {"String": ...}).
  UnicodeRegex(const std::string& pattern, bool literal, const std::string& where);
  ~UnicodeRegex();
  UnicodeRegex(UnicodeRegex&&) noexcept;
  UnicodeRegex& operator=(UnicodeRegex&&) noexcept;

  // Non-empty, non-overlapping matches, left to right, as byte ranges
  // [begin, end). `text` must be valid UTF-8.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(const std::string& text) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  std::string where_;
};

// The Oniguruma -> PCRE2 rewrite of `\s` / `\S` (exposed for its tests).
std::string widen_whitespace_classes(const std::string& pattern, const std::string& where);

}  // namespace kvsim
