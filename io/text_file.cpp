#include "io/text_file.hpp"

#include <fstream>
#include <sstream>

#include "io/errors.hpp"
#include "io/tokenizer/utf8.hpp"
#include "io/regular_file.hpp"

namespace kvsim {

std::string read_text_file(const std::string& path, const char* option, TrailingLineBreaks trailing) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open " + option + " file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string out = text.str();
  if (trailing == TrailingLineBreaks::strip)
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) throw InputError(path + ": " + option + " file is empty");
  if (const std::size_t bad = utf8::first_invalid_byte(out); bad != std::string::npos)
    throw InputError(path + ": " + option + " file is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  return out;
}

}  // namespace kvsim
