#include "io/tokenizer/utf8.hpp"

namespace kvsim::utf8 {

namespace {

// Unicode's well-formed sequences (Table 3-7): no overlong forms, no
// surrogates, nothing above U+10FFFF. Returns how many bytes from text[i] form
// a complete sequence, or 0; `prefix` gets the length of the longest valid
// prefix (the "maximal subpart" one U+FFFD replaces).
std::size_t sequence_length(const std::string& text, std::size_t i, std::size_t* prefix = nullptr) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned lead = byte(0);
  std::size_t len = 0;
  unsigned low = 0x80, high = 0xbf;  // range of the second byte
  if (lead < 0x80) len = 1;
  else if (lead >= 0xc2 && lead <= 0xdf) len = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  }
  std::size_t valid = len == 0 ? 0 : 1;
  while (valid < len && i + valid < text.size()) {
    const unsigned b = byte(valid);
    const bool ok = valid == 1 ? (b >= low && b <= high) : (b & 0xc0) == 0x80;
    if (!ok) break;
    ++valid;
  }
  if (prefix) *prefix = valid == 0 ? 1 : valid;
  return valid == len ? len : 0;
}

}  // namespace

std::vector<std::string> split_code_points(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = sequence_length(text, i);
    if (len == 0) len = 1;
    out.push_back(text.substr(i, len));
    i += len;
  }
  return out;
}

std::size_t first_invalid_byte(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = sequence_length(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string::npos;
}

bool is_valid(const std::string& text) { return first_invalid_byte(text) == std::string::npos; }

std::string make_valid(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t prefix = 0;
    const std::size_t len = sequence_length(bytes, i, &prefix);
    if (len > 0) {
      out.append(bytes, i, len);
      i += len;
    } else {
      out += "\xef\xbf\xbd";  // U+FFFD
      i += prefix;
    }
  }
  return out;
}

std::string replace_all(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(text, pos, hit - pos).append(to);
  out.append(text, pos, std::string::npos);
  return out;
}

}  // namespace kvsim::utf8
