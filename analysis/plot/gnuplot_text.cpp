#include "analysis/plot/gnuplot_text.hpp"

#include "io/tokenizer/utf8.hpp"

namespace kvsim::plot {

namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_control(const std::string& code_point) {
  const auto lead = static_cast<unsigned char>(code_point[0]);
  if (code_point.size() == 1) return lead < 0x20 || lead == 0x7F;
  // C1 controls U+0080..U+009F are encoded C2 80..C2 9F
  return code_point.size() == 2 && lead == 0xC2 && static_cast<unsigned char>(code_point[1]) < 0xA0;
}

}  // namespace

std::string visible_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const std::string& c : utf8::split_code_points(text)) {
    if (c == "\n") out += c;
    else if (is_control(c) || !utf8::is_valid(c)) out += kReplacement;
    else out += c;
  }
  return out;
}

std::string gp_quote(const std::string& text) {
  std::string out = "'";
  for (char c : visible_text(text)) {
    if (c == '\'') out += "''";
    else if (c == '\n') out += "'.\"\\n\".'";
    else out += c;
  }
  return out + "'";
}

std::string gp_tic_label(const std::string& text) {
  return gp_quote(utf8::replace_all(text, "%", "%%"));
}

}  // namespace kvsim::plot
