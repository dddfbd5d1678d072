#pragma once
// Error classes that the CLI maps to exit codes (DESIGN §7):
// UsageError -> 2 (bad options), InputError -> 1 (bad input or failure).
#include <stdexcept>
#include <string>

namespace kvsim {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace kvsim

namespace kvsim {

// An error message as the one stderr line the CLI promises: a line break or
// other control character that came in with a file name, attribute or CSV
// cell is shown escaped (\n, \r, \t, \xNN) instead of breaking the line or
// driving the terminal.
inline std::string one_line(const std::string& message) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else out += ch;
  }
  return out;
}

}  // namespace kvsim
