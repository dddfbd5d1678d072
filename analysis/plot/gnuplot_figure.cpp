#include "analysis/plot/gnuplot_figure.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "analysis/plot/figure_name.hpp"
#include "analysis/plot/gnuplot_error.hpp"
#include "io/output_dir.hpp"
#include "io/atomic_file.hpp"
#include "io/errors.hpp"

extern char** environ;

namespace kvsim::plot {

namespace fs = std::filesystem;

namespace {

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

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool numbers_only(const std::string& content) {
  std::istringstream tokens(content);
  std::string token;
  while (tokens >> token) {
    char* end = nullptr;
    std::strtod(token.c_str(), &end);
    if (end == token.c_str() || *end != '\0') return false;
  }
  return true;
}

// gnuplot with argv (no shell between us and it), stdin /dev/null, stdout
// discarded, stderr to `err_path`. Returns the exit status, 127 when the
// program cannot be started.
int run_gnuplot(const std::string& script_path, const std::string& err_path) {
  const std::string program = gnuplot_program();
  // --default-settings: no ~/.gnuplot or system gnuplotrc, so HOME cannot
  // change a figure (same command, same bytes)
  std::vector<std::string> args = {program, "--default-settings", script_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) return 127;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

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
      tics += (tics.empty() ? "" : ", ") + gp_tic_label(label.str()) + " " + label.str();
    }
  return tics.empty() ? "" : std::string("set ") + axis + "tics (" + tics + ")\nset m" + axis + "tics 10\n";
}

GnuplotFigure::GnuplotFigure(int width_px, int height_px) : width_(width_px), height_(height_px) {
  std::string pattern = (fs::temp_directory_path() / "kvsim-plot-XXXXXX").string();
  // gp_quote would draw a control character as U+FFFD and so name another path
  if (visible_text(pattern) != pattern)
    throw InputError("the temporary directory " + visible_text(fs::temp_directory_path().string()) +
                     " (TMPDIR) has control characters; gnuplot cannot be given a path in it");
  if (!::mkdtemp(pattern.data())) throw InputError("cannot create a temporary directory for gnuplot");
  temp_dir_ = pattern;
}

GnuplotFigure::~GnuplotFigure() {
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
}

std::string GnuplotFigure::data(const std::string& name, const std::string& content) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                          std::string::npos)
    throw std::logic_error("gnuplot data file name '" + name + "' is not [A-Za-z0-9_]+");
  if (!numbers_only(content))
    throw std::logic_error("gnuplot data file '" + name + "' holds text; only numbers may go into data files");
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
  check_figure_name(name);
  const fs::path dir = out_dir.empty() ? "." : out_dir;
  const fs::path tmp = temp_dir_;
  const std::string size = std::to_string(width_) + "," + std::to_string(height_);
  std::ostringstream script;
  script << "set terminal pngcairo size " << size
         << " noenhanced font 'DejaVu Sans,15' linewidth 1.5 background rgb 'white'\n"
         << "set output " << gp_quote((tmp / "figure.png").string()) << "\n"
         << kStyle << body_ << "unset output\n"
         << "reset\n"
         << "set terminal svg size " << size
         << " noenhanced font 'DejaVu Sans,15' linewidth 1.5 background rgb 'white'\n"
         << "set output " << gp_quote((tmp / "figure.svg").string()) << "\n"
         << kStyle << body_ << "unset output\n";
  const std::string script_path = (tmp / "figure.gp").string(), err_path = (tmp / "gnuplot.err").string();
  {
    std::ofstream out(script_path);
    out << script.str();
    if (!out) throw InputError("cannot write gnuplot script " + script_path);
  }
  const int code = run_gnuplot(script_path, err_path);
  const std::string base = (dir / name).string();
  if (code == 127) throw InputError("gnuplot not found (install gnuplot-nox, or set KVSIM_GNUPLOT)");
  if (code != 0) throw InputError("gnuplot failed drawing " + base + ": " + gnuplot_error_summary(read_bytes(err_path)));

  create_output_directory(dir.string(), "--out");
  AtomicFile png(base + ".png"), svg(base + ".svg");
  for (auto [from, to] : {std::pair{"figure.png", &png}, std::pair{"figure.svg", &svg}}) {
    const std::string bytes = read_bytes((tmp / from).string());
    if (bytes.empty())
      throw InputError("gnuplot wrote no output for " + to->final_path() + ": " + gnuplot_error_summary(read_bytes(err_path)));
    std::ofstream out(to->temp_path(), std::ios::binary | std::ios::trunc);
    out << bytes;
    out.flush();
    if (!out) throw InputError("cannot write " + to->final_path() + ": " + std::strerror(errno));
  }
  png.commit();
  svg.commit();
  return {png.final_path(), svg.final_path(), script.str()};
}

}  // namespace kvsim::plot
