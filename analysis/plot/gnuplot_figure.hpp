#pragma once
// Renders one figure with gnuplot into <out_dir>/<name>.png (pngcairo) and
// <name>.svg. Script, data and gnuplot's own outputs live in a private
// temporary directory under fixed names, so no path or name from the command
// line ever reaches the script; the same plotting commands run once per
// terminal, so PNG and SVG always match. Both outputs are written under
// temporary names and renamed when gnuplot has finished successfully.
// Text inside the commands must go through gp_quote (gnuplot_text.hpp).
#include <string>

#include "analysis/plot/gnuplot_text.hpp"

namespace kvsim::plot {

struct PlotFiles {
  std::string png, svg;
  std::string script;  // the gnuplot script that drew them (for tests and debugging)
};

class GnuplotFigure {
 public:
  GnuplotFigure(int width_px = 1000, int height_px = 650);
  ~GnuplotFigure();  // removes the temporary directory
  GnuplotFigure(const GnuplotFigure&) = delete;
  GnuplotFigure& operator=(const GnuplotFigure&) = delete;

  // Writes a data file and returns a gnuplot string literal naming it.
  // `name` is [A-Za-z0-9_]+; `content` holds numbers only (whitespace-
  // separated, nan/inf allowed): text never goes into a data file, where a
  // space, quote or # in it would shift or hide columns (std::logic_error).
  std::string data(const std::string& name, const std::string& content);
  // Appends gnuplot commands (after terminal/output setup, fonts and the
  // shared style; may use set multiplot).
  GnuplotFigure& operator<<(const std::string& commands);

  // Runs gnuplot (no shell, no init files, stdin from /dev/null); InputError
  // carrying gnuplot's stderr when it fails or leaves an empty file. Creates
  // out_dir if needed; `name` must pass check_figure_name (UsageError).
  PlotFiles render(const std::string& out_dir, const std::string& name) const;

 private:
  int width_, height_;
  std::string temp_dir_;
  std::string body_;
};

// "set ytics (...)" at 1-2-5 values inside [lo, hi] for a log axis (gnuplot
// labels only the decades, leaving a one-decade axis with a single number).
std::string log_tics_125(double lo, double hi, char axis = 'y');

}  // namespace kvsim::plot
