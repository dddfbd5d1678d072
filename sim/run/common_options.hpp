#pragma once
// The options that kvsim's commands and the notebooks share, each defined,
// checked and applied here once: --threads (OpenMP threads) and --window (the
// future-query window W, C = T - W, when a dump has no context_len).
#include <boost/program_options.hpp>

#include "sim/run/warnings.hpp"

namespace kvsim {

struct DumpAttrs;

void add_threads_option(boost::program_options::options_description& desc, int& threads);
// Checks --threads (UsageError below 0) and sets OpenMP's thread count (0 =
// OpenMP's default). Nested parallel regions run serially, so that BLAS called
// inside the engine's regions stays single-threaded.
void apply_threads_option(int threads);

void add_window_option(boost::program_options::options_description& desc, int& window);
// UsageError when --window is below 1.
void check_window_option(int window);
// A dump with context_len sets the context itself: an explicit --window is
// then ignored, and `warnings` gets a window_ignored warning saying so.
void warn_if_window_ignored(WarningLog& warnings, int window, const DumpAttrs& attrs);

}  // namespace kvsim
