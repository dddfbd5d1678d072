#include "analysis/plot/gnuplot_figure.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "analysis/plot/gnuplot_error.hpp"
#include "io/output_dir.hpp"
#include "io/atomic_file.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string gnuplot_program() {
  const char* env = std::getenv("KVSIM_GNUPLOT");
  return env && *env ? env : "gnuplot";
}

// Shared look: readable fonts at print size, light grid, no enhanced-text
// surprises from underscores in policy or dump names.
constexpr const char* kStyle =
    "set encoding utf8\n"
    "set border lw 1.2\n"
    "set grid lc rgb '#dddddd' lw 1\n"
    "set key opaque box lc rgb '#bbbbbb'\n"
    "set tics out nomirror\n"
    "set style fill transparent solid 0.18 noborder\n";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string gp_quote(const std::string& text) {
  if (text.find('\n') != std::string::npos) {
    // only double-quoted gnuplot strings turn \n into a line break
    std::string out = "\"";
    for (char c : text) {
      if (c == '\n') out += "\\n";
      else if (c == '"' || c == '\\') out += std::string("\\") + c;
      else out += c;
    }
    return out + "\"";
  }
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// 1-2-5 tics inside [lo, hi]: gnuplot's default labels only the decades,
// which leaves a one-decade axis with a single number.
std::string log_tics_125(double lo, double hi, char axis) {
  std::string tics;
  for (double decade = std::pow(10.0, std::floor(std::log10(lo))); decade <= hi; decade *= 10)
    for (double m : hi / lo < 10 ? std::vector<double>{1, 1.5, 2, 3, 5, 7} : std::vector<double>{1, 2, 5}) {
      const double v = m * decade;
      if (v < lo || v > hi) continue;
      std::ostringstream label;
      label << v;
      tics += (tics.empty() ? "" : ", ") + gp_quote(label.str()) + " " + label.str();
    }
  return tics.empty() ? "" : std::string("set ") + axis + "tics (" + tics + ")\nset m" + axis + "tics 10\n";
}

std::string series_color(std::size_t index) {
  static const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                  "#E69F00", "#56B4E9", "#8C564B", "#F0E442"};
  return palette[index % (sizeof palette / sizeof *palette)];
}

GnuplotFigure::GnuplotFigure(int width_px, int height_px) : width_(width_px), height_(height_px) {
  std::string pattern = (fs::temp_directory_path() / "kvsim-plot-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw InputError("cannot create a temporary directory for gnuplot");
  temp_dir_ = pattern;
}

GnuplotFigure::~GnuplotFigure() {
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
}

std::string GnuplotFigure::data(const std::string& name, const std::string& content) {
  const std::string path = (fs::path(temp_dir_) / (name + ".dat")).string();
  std::ofstream out(path);
  out << content;
  if (!out) throw InputError("cannot write gnuplot data file " + path);
  return gp_quote(path);
}

GnuplotFigure& GnuplotFigure::operator<<(const std::string& commands) {
  body_ += commands;
  if (!body_.empty() && body_.back() != '\n') body_ += '\n';
  return *this;
}

PlotFiles GnuplotFigure::render(const std::string& out_dir, const std::string& name) const {
  create_output_directory(out_dir.empty() ? "." : out_dir, "--out");
  const fs::path base = fs::path(out_dir.empty() ? "." : out_dir) / name;
  AtomicFile png(base.string() + ".png"), svg(base.string() + ".svg");
  const std::string size = std::to_string(width_) + "," + std::to_string(height_);

  std::ostringstream script;
  script << "set terminal pngcairo size " << size
         << " noenhanced font 'DejaVu Sans,15' linewidth 1.5 background rgb 'white'\n"
         << "set output " << gp_quote(png.temp_path()) << "\n"
         << kStyle << body_ << "unset output\n"
         << "reset\n"
         << "set terminal svg size " << size
         << " noenhanced font 'DejaVu Sans,15' linewidth 1.5 background rgb 'white'\n"
         << "set output " << gp_quote(svg.temp_path()) << "\n"
         << kStyle << body_ << "unset output\n";
  const std::string script_path = (fs::path(temp_dir_) / (name + ".gp")).string();
  const std::string err_path = (fs::path(temp_dir_) / (name + ".err")).string();
  {
    std::ofstream out(script_path);
    out << script.str();
    if (!out) throw InputError("cannot write gnuplot script " + script_path);
  }
  const std::string command = shell_quote(gnuplot_program()) + " " + shell_quote(script_path) +
                              " </dev/null >/dev/null 2>" + shell_quote(err_path);
  const int status = std::system(command.c_str());
  const int code = status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (code == 127)
    throw InputError("gnuplot not found (install gnuplot-nox, or set KVSIM_GNUPLOT)");
  if (code != 0)
    throw InputError("gnuplot failed drawing " + base.string() + ": " + gnuplot_error_summary(read_text(err_path)));
  for (const AtomicFile* f : {&png, &svg}) {
    std::error_code ec;
    if (fs::file_size(f->temp_path(), ec) == 0 || ec)
      throw InputError("gnuplot wrote no output for " + f->final_path() + ": " +
                       gnuplot_error_summary(read_text(err_path)));
  }
  png.commit();
  svg.commit();
  return {png.final_path(), svg.final_path()};
}

}  // namespace kvsim::plot
