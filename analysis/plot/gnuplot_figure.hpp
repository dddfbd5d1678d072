#pragma once
// Renders one figure with gnuplot into <out_dir>/<name>.png (pngcairo) and
// <name>.svg. Data goes through files in a private temporary directory; the
// same plotting commands run once per terminal, so PNG and SVG always match.
// Both outputs are written under temporary names and renamed when gnuplot has
// finished successfully.
#include <string>
#include <vector>

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
  std::string data(const std::string& name, const std::string& content);
  // Appends gnuplot commands (after terminal/output setup, fonts and the
  // shared style; may use set multiplot).
  GnuplotFigure& operator<<(const std::string& commands);

  // Runs gnuplot; InputError carrying gnuplot's stderr when it fails or
  // leaves an empty file. Creates out_dir if needed.
  PlotFiles render(const std::string& out_dir, const std::string& name) const;

 private:
  int width_, height_;
  std::string temp_dir_;
  std::string body_;
};

// A gnuplot string literal: single-quoted with quotes doubled, or (when the
// text has line breaks) double-quoted with \\, \" and \n escapes.
std::string gp_quote(const std::string& text);

// "set ytics (...)" at 1-2-5 values inside [lo, hi] for a log axis (gnuplot
// labels only the decades, leaving a one-decade axis with a single number).
std::string log_tics_125(double lo, double hi, char axis = 'y');

// Colour-blind-safe line colours (Okabe–Ito), cycled by index.
std::string series_color(std::size_t index);

}  // namespace kvsim::plot
