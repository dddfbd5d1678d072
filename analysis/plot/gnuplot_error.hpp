#pragma once
// gnuplot reports an error by echoing the offending script line, a caret under
// it, then `"<script>" line N: <message>`. Users get one line: the message and
// its script line number, not the script text.
#include <string>

namespace kvsim::plot {

// "line 12: undefined variable: foo" from gnuplot's stderr; the last
// non-empty line when there is no such line; "no message" when it is empty.
std::string gnuplot_error_summary(const std::string& stderr_text);

}  // namespace kvsim::plot
