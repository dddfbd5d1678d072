#include "sim/run/common_options.hpp"

#include <omp.h>

#include "io/errors.hpp"
#include "io/kvdump.hpp"

namespace kvsim {

namespace po = boost::program_options;

void add_threads_option(po::options_description& desc, int& threads) {
  desc.add_options()("threads", po::value(&threads)->default_value(0), "OpenMP threads (0 = default)");
}

void apply_threads_option(int threads) {
  if (threads < 0) throw UsageError("--threads must be >= 0");
  if (threads > 0) omp_set_num_threads(threads);
  omp_set_max_active_levels(1);
}

void add_window_option(po::options_description& desc, int& window) {
  desc.add_options()("window", po::value(&window)->default_value(128),
                     "future-query window W: C = T - W when the dump has no context_len");
}

void check_window_option(int window) {
  if (window < 1) throw UsageError("--window " + std::to_string(window) + " must be >= 1");
}

void warn_if_window_ignored(WarningLog& warnings, int window, const DumpAttrs& attrs) {
  if (!attrs.context_len) return;
  warnings.add({"window_ignored",
                "--window " + std::to_string(window) + " is ignored: the dump has context_len=" +
                    std::to_string(*attrs.context_len) + ", which sets the context",
                "--window", "", -1, -1});
}

}  // namespace kvsim
