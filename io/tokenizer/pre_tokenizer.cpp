#include "io/tokenizer/pre_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "io/errors.hpp"
#include "io/tokenizer/byte_level.hpp"
#include "io/tokenizer/unicode_regex.hpp"

namespace kvsim {

using nlohmann::json;

namespace {

const std::string kMetaspace = "\xe2\x96\x81";  // U+2581 "▁"

// GPT-2's word pattern, which ByteLevel applies when use_regex is true.
const char* kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

PreTokenizer::Behavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return PreTokenizer::Behavior::removed;
  if (name == "Isolated") return PreTokenizer::Behavior::isolated;
  if (name == "MergedWithPrevious") return PreTokenizer::Behavior::merged_with_previous;
  if (name == "MergedWithNext") return PreTokenizer::Behavior::merged_with_next;
  if (name == "Contiguous") return PreTokenizer::Behavior::contiguous;
  throw InputError(where + ": Split behavior '" + name + "' is unknown");
}

struct Span {
  std::size_t begin, end;
  bool is_match;
};

// Covers [0, size) with the matches and the gaps between them.
std::vector<Span> spans_of(const std::vector<std::pair<std::size_t, std::size_t>>& matches, std::size_t size) {
  std::vector<Span> spans;
  std::size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > previous) spans.push_back({previous, begin, false});
    spans.push_back({begin, end, true});
    previous = end;
  }
  if (previous < size) spans.push_back({previous, size, false});
  return spans;
}

// Applies a behaviour: which spans are kept, and which are glued together.
std::vector<Span> apply_behavior(std::vector<Span> spans, PreTokenizer::Behavior behavior) {
  using B = PreTokenizer::Behavior;
  std::vector<Span> out;
  switch (behavior) {
    case B::isolated:
      return spans;
    case B::removed:
      for (const Span& s : spans)
        if (!s.is_match) out.push_back(s);
      return out;
    case B::contiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (!out.empty() && s.is_match == previous_match) out.back().end = s.end;
        else out.push_back(s);
        previous_match = s.is_match;
      }
      return out;
    }
    case B::merged_with_previous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) out.back().end = s.end;
        else out.push_back(s);
        previous_match = s.is_match;
      }
      return out;
    }
    case B::merged_with_next: {
      bool next_match = false;  // walking backwards: was the span after this one a match?
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !next_match && !out.empty()) out.back().begin = it->begin;
        else out.push_back(*it);
        next_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    }
  }
  return spans;
}

}  // namespace

std::vector<PreTokenizer> PreTokenizer::parse(const json& node, const std::string& where) {
  std::vector<PreTokenizer> steps;
  if (node.is_null()) return steps;
  const std::string type = node.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const json& child : node.at("pretokenizers")) {
      auto more = parse(child, where);
      steps.insert(steps.end(), more.begin(), more.end());
    }
    return steps;
  }
  PreTokenizer step;
  if (type == "Split") {
    step.kind_ = Kind::split;
    const json& pattern = node.at("pattern");
    if (pattern.contains("Regex"))
      step.regex_ = std::make_shared<UnicodeRegex>(pattern["Regex"].get<std::string>(), false,
                                                   where + ": pre_tokenizer Split");
    else
      step.regex_ = std::make_shared<UnicodeRegex>(pattern.at("String").get<std::string>(), true,
                                                   where + ": pre_tokenizer Split");
    step.behavior_ = parse_behavior(node.at("behavior").get<std::string>(), where);
    step.invert_ = node.value("invert", false);
  } else if (type == "ByteLevel") {
    step.kind_ = Kind::byte_level;
    step.add_prefix_space_ = node.value("add_prefix_space", true);
    step.use_regex_ = node.value("use_regex", true);
    if (step.use_regex_) step.regex_ = std::make_shared<UnicodeRegex>(kGpt2Pattern, false, "GPT-2 pattern");
  } else if (type == "Metaspace") {
    step.kind_ = Kind::metaspace;
    step.replacement_ = node.value("replacement", kMetaspace);
    if (step.replacement_.empty()) throw InputError(where + ": Metaspace with an empty replacement");
    step.prepend_scheme_ = node.value(
        "prepend_scheme", node.value("add_prefix_space", true) ? std::string("always") : std::string("never"));
    if (step.prepend_scheme_ != "always" && step.prepend_scheme_ != "first" && step.prepend_scheme_ != "never")
      throw InputError(where + ": Metaspace prepend_scheme '" + step.prepend_scheme_ + "' is unknown");
    step.metaspace_split_ = node.value("split", true);
  } else if (type == "Digits") {
    step.kind_ = Kind::digits;
    step.individual_digits_ = node.value("individual_digits", false);
    step.regex_ = std::make_shared<UnicodeRegex>("\\p{N}", false, "Digits pattern");
  } else {
    throw InputError(where + ": pre_tokenizer '" + type +
                     "' is not supported by kvsim's tokenizer (supported: Split, ByteLevel, Metaspace, Digits, "
                     "Sequence); pass the token ids with --tokens-file");
  }
  steps.push_back(std::move(step));
  return steps;
}

void PreTokenizer::split(const PreTokenizedPiece& piece, const UnicodeRegex& regex, Behavior behavior, bool invert,
                         std::vector<PreTokenizedPiece>& out) const {
  auto spans = spans_of(regex.find_all(piece.text), piece.text.size());
  if (invert)
    for (Span& s : spans) s.is_match = !s.is_match;
  for (const Span& s : apply_behavior(std::move(spans), behavior))
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.starts_text && s.begin == 0});
}

void PreTokenizer::apply(std::vector<PreTokenizedPiece>& pieces) const {
  std::vector<PreTokenizedPiece> out;
  out.reserve(pieces.size());
  for (PreTokenizedPiece& piece : pieces) {
    switch (kind_) {
      case Kind::split:
        split(piece, *regex_, behavior_, invert_, out);
        break;
      case Kind::digits:
        split(piece, *regex_, individual_digits_ ? Behavior::isolated : Behavior::contiguous, false, out);
        break;
      case Kind::byte_level: {
        if (add_prefix_space_ && piece.text.compare(0, 1, " ") != 0) piece.text = " " + piece.text;
        std::vector<PreTokenizedPiece> words;
        if (use_regex_) split(piece, *regex_, Behavior::isolated, false, words);
        else words.push_back(std::move(piece));
        for (auto& word : words) out.push_back({byte_level::encode(word.text), word.starts_text});
        break;
      }
      case Kind::metaspace: {
        std::string text;
        text.reserve(piece.text.size() + replacement_.size());
        for (char c : piece.text) {
          if (c == ' ') text += replacement_;
          else text += c;
        }
        const bool prepend = prepend_scheme_ == "always" || (prepend_scheme_ == "first" && piece.starts_text);
        if (prepend && text.compare(0, replacement_.size(), replacement_) != 0) text = replacement_ + text;
        if (!metaspace_split_) {
          out.push_back({std::move(text), piece.starts_text});
          break;
        }
        // Each word starts at a replacement character (MergedWithNext).
        std::size_t start = 0;
        for (std::size_t pos = text.find(replacement_, 1); pos != std::string::npos;
             pos = text.find(replacement_, pos + 1)) {
          out.push_back({text.substr(start, pos - start), piece.starts_text && start == 0});
          start = pos;
        }
        out.push_back({text.substr(start), piece.starts_text && start == 0});
        break;
      }
    }
  }
  pieces.clear();
  for (auto& piece : out)
    if (!piece.text.empty()) pieces.push_back(std::move(piece));
}

}  // namespace kvsim
