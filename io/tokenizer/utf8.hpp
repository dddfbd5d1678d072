#pragma once
// Minimal UTF-8 helpers for the tokenizers (which merge per code point).
#include <string>
#include <vector>

namespace kvsim::utf8 {

// Splits into code points; a malformed byte becomes a one-byte piece of its own
// (the tokenizers then byte-fallback on it).
std::vector<std::string> split_code_points(const std::string& text);
bool is_valid(const std::string& text);
// Offset of the first byte that starts no well-formed sequence, or npos.
std::size_t first_invalid_byte(const std::string& text);
// Each maximal ill-formed subpart -> one U+FFFD (Unicode's recommended
// practice, as Rust's from_utf8_lossy and the WHATWG decoder do).
std::string make_valid(const std::string& bytes);
// Replaces every occurrence of `from` (non-empty) with `to`.
std::string replace_all(const std::string& text, const std::string& from, const std::string& to);

}  // namespace kvsim::utf8
