#pragma once
// Unicode normalisation forms (NFC, NFD, NFKC, NFKD) through utf8proc, for
// tokenizer.json normalizers (Qwen2/Qwen3 normalise to NFC).
#include <string>

namespace kvsim {

enum class UnicodeForm { nfc, nfd, nfkc, nfkd };

// `text` must be valid UTF-8 (InputError otherwise, naming `where`).
std::string unicode_normalize(const std::string& text, UnicodeForm form, const std::string& where);

}  // namespace kvsim
