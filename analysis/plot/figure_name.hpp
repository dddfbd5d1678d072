#pragma once
// Figure base names (`kvsim plot --name`, the notebooks' figure names) become
// <out_dir>/<name>.png and .svg, so a name must not lead out of the output
// directory or hide there.
#include <string>

namespace kvsim::plot {

// UsageError "<option> '<name>': must be a plain file name (...)" unless
// `name` is non-empty and has no '/', is not "..", does not start with '-' or
// '.', and has no control character. The name is quoted in the message with
// control characters made visible, so the message stays one line.
void check_figure_name(const std::string& name, const std::string& option = "--name");

}  // namespace kvsim::plot
