#define PCRE2_CODE_UNIT_WIDTH 8
#include "io/tokenizer/unicode_regex.hpp"

#include <pcre2.h>

#include "io/errors.hpp"

namespace kvsim {

namespace {

constexpr const char* kNel = "\\x{85}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

std::string widen_whitespace_classes(const std::string& pattern, const std::string& where) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool in_class = false;
  bool class_negated = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      ++i;
      if (next == 's') {
        out += in_class ? std::string("\\s") + kNel : std::string("[\\s") + kNel + "]";
      } else if (next == 'S') {
        // [^\S...] would need set subtraction, which PCRE2 10.42 lacks.
        if (in_class)
          throw InputError(where + ": \\S inside a character class is not supported");
        out += std::string("[^\\s") + kNel + "]";
      } else if (next == 'Q') {
        // \Q...\E quotes everything up to \E verbatim.
        const std::size_t end = pattern.find("\\E", i + 1);
        const std::size_t stop = end == std::string::npos ? pattern.size() : end + 2;
        out += pattern.substr(i - 1, stop - (i - 1));
        i = stop - 1;
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      class_negated = i + 1 < pattern.size() && pattern[i + 1] == '^';
      if (class_negated) out += pattern[++i];
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == '[') {
      // Nested classes and POSIX [:name:] forms: Oniguruma-only set operations
      // are refused; [:alpha:] passes through.
      if (i + 1 < pattern.size() && pattern[i + 1] == ':') {
        const std::size_t end = pattern.find(":]", i + 2);
        if (end == std::string::npos) throw InputError(where + ": unterminated [: :] in the pattern");
        out += pattern.substr(i, end + 2 - i);
        i = end + 1;
        continue;
      }
      throw InputError(where + ": nested character classes are not supported");
    }
    if (in_class && c == '&' && i + 1 < pattern.size() && pattern[i + 1] == '&')
      throw InputError(where + ": character-class intersection (&&) is not supported");
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  if (in_class) throw InputError(where + ": unterminated character class in the pattern");
  return out;
}

struct UnicodeRegex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

UnicodeRegex::UnicodeRegex(const std::string& pattern, bool literal, const std::string& where)
    : compiled_(std::make_unique<Compiled>()), where_(where) {
  const std::string source = literal ? pattern : widen_whitespace_classes(pattern, where);
  if (source.empty()) throw InputError(where + ": empty pattern");
  int error = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2 refuses UCP beside LITERAL, where it means nothing anyway.
  const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options, &error,
                                  &offset, nullptr);
  if (!compiled_->code)
    throw InputError(where + ": pattern does not compile at offset " + std::to_string(offset) + ": " +
                     pcre2_message(error));
  // JIT is an optimisation only; the interpreter gives the same matches.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

UnicodeRegex::~UnicodeRegex() = default;
UnicodeRegex::UnicodeRegex(UnicodeRegex&&) noexcept = default;
UnicodeRegex& UnicodeRegex::operator=(UnicodeRegex&&) noexcept = default;

std::vector<std::pair<std::size_t, std::size_t>> UnicodeRegex::find_all(const std::string& text) const {
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t start = 0;
  uint32_t options = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(compiled_->code, subject, text.size(), start, options, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (options == 0) break;
      // After an empty match: step one code point and search again.
      options = 0;
      ++start;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xc0) == 0x80) ++start;
      continue;
    }
    if (rc < 0) throw InputError(where_ + ": regex matching failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const std::size_t begin = ovector[0], end = ovector[1];
    if (end > begin) matches.emplace_back(begin, end);
    start = end;
    // An empty match must not repeat at the same place.
    options = end == begin ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
    if (end == begin && start >= text.size()) break;
  }
  return matches;
}

}  // namespace kvsim
