#pragma once
// GPT-2's byte-level alphabet: every byte is shown as one printable code
// point (printable Latin-1 bytes as themselves, the other 68 as U+0100 on),
// so a BPE vocabulary over these characters covers any byte string.
#include <string>

namespace kvsim::byte_level {

// Each byte of `bytes` -> its alphabet character (UTF-8).
std::string encode(const std::string& bytes);
// The bytes one token stands for: the inverse of encode() when every
// character is in the alphabet, else the token's own UTF-8 (an added token
// such as "<think>" or a CJK special). Tokens may end inside a character:
// join them, then make the whole valid UTF-8.
std::string decode_token(const std::string& token);

}  // namespace kvsim::byte_level
