#include "analysis/plot/figure_name.hpp"

#include "analysis/plot/gnuplot_text.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

void check_figure_name(const std::string& name, const std::string& option) {
  const char* problem = nullptr;
  if (name.empty()) problem = "it is empty";
  else if (name.find('/') != std::string::npos) problem = "it contains '/'";
  else if (name.find("..") != std::string::npos) problem = "it contains '..'";
  else if (name[0] == '-' || name[0] == '.') problem = "it starts with '-' or '.'";
  else if (visible_text(name) != name || name.find('\n') != std::string::npos)
    problem = "it contains a control character or invalid UTF-8";
  if (!problem) return;
  // the CLI shows control characters escaped (one_line), so the name goes in as it is
  throw UsageError(option + " '" + name + "': must be a plain file name inside the output directory (" +
                   problem + ")");
}

}  // namespace kvsim::plot
