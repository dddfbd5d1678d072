#include "io/text_file.hpp"

#include <fstream>
#include <sstream>

#include "io/errors.hpp"
#include "io/regular_file.hpp"

namespace kvsim {

std::string read_text_file(const std::string& path, const char* option) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open " + option + " file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string out = text.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) throw InputError(path + ": " + option + " file is empty");
  return out;
}

}  // namespace kvsim
