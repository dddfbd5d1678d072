#pragma once
// How text reaches a gnuplot script. Titles, key entries and labels carry
// strings from inputs (dump attributes and file names, CSV cells, options),
// and gnuplot runs `back-quoted` text inside double-quoted strings, so no
// string built from such text may ever be double-quoted: gp_quote writes it
// single-quoted (where gnuplot expands nothing: no escapes, no back quotes, no
// @macros) and joins lines with the constant "\n".
#include <string>

namespace kvsim::plot {

// Text safe to draw: each control character (C0 other than the line break,
// DEL, C1) and each byte that is not well-formed UTF-8 becomes U+FFFD, so
// that no invisible character hides in a figure and cairo draws every line.
std::string visible_text(const std::string& text);

// A gnuplot string expression for `text` (after visible_text): 'a''b' for
// a'b, and 'line 1'."\n".'line 2' across a line break.
std::string gp_quote(const std::string& text);

// An explicit tic label: gnuplot reads those as printf-like formats, so each
// % is doubled before quoting.
std::string gp_tic_label(const std::string& text);

}  // namespace kvsim::plot
