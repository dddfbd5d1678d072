#include "io/tokenizer/byte_level.hpp"

#include <array>

#include "io/tokenizer/utf8.hpp"

namespace kvsim::byte_level {

namespace {

bool shown_as_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

struct Alphabet {
  std::array<unsigned, 256> code_point_of_byte{};
  Alphabet() {
    unsigned next = 256;
    for (int byte = 0; byte < 256; ++byte) code_point_of_byte[byte] = shown_as_itself(byte) ? byte : next++;
  }
};

const Alphabet& alphabet() {
  static const Alphabet table;
  return table;
}

void append_code_point(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {  // every alphabet code point is below U+0800
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

std::string encode(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) append_code_point(out, alphabet().code_point_of_byte[byte]);
  return out;
}

std::string decode_token(const std::string& token) {
  static const auto byte_of_code_point = [] {
    std::array<int, 0x144> table;
    table.fill(-1);
    for (int byte = 0; byte < 256; ++byte) table[alphabet().code_point_of_byte[byte]] = byte;
    return table;
  }();
  std::string bytes;
  bytes.reserve(token.size());
  for (const std::string& piece : utf8::split_code_points(token)) {
    unsigned cp = static_cast<unsigned char>(piece[0]);
    if (piece.size() == 2) cp = ((cp & 0x1f) << 6) | (static_cast<unsigned char>(piece[1]) & 0x3f);
    const bool in_alphabet_range = (piece.size() == 1 && cp < 0x80) || piece.size() == 2;
    if (!in_alphabet_range || cp >= byte_of_code_point.size() || byte_of_code_point[cp] < 0) return token;
    bytes += static_cast<char>(byte_of_code_point[cp]);
  }
  return bytes;
}

}  // namespace kvsim::byte_level
