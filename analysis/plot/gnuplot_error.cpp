#include "analysis/plot/gnuplot_error.hpp"

#include <regex>
#include <sstream>

namespace kvsim::plot {

std::string gnuplot_error_summary(const std::string& stderr_text) {
  static const std::regex located(R"((line \d+: .*)$)");
  std::istringstream lines(stderr_text);
  std::string last, found;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (found.empty() && std::regex_search(line, match, located)) found = match[1];
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  std::string summary = !found.empty() ? found : !last.empty() ? last : "no message";
  for (char& c : summary)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (summary.size() > 200) summary = summary.substr(0, 197) + "...";
  return summary;
}

}  // namespace kvsim::plot
