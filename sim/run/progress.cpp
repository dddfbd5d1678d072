#include "sim/run/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace kvsim {

Progress::Progress(std::string label, long total, double quiet_seconds)
    : label_(std::move(label)),
      total_(total),
      quiet_seconds_(quiet_seconds),
      start_(Clock::now()),
      last_print_(start_),
      tty_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (printed_ && tty_) std::cerr << "\n";
}

void Progress::update(long done, const std::string& detail) {
  const auto now = Clock::now();
  const double since_start = std::chrono::duration<double>(now - start_).count();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  const bool finished = done >= total_;
  if (since_start < quiet_seconds_ && !(finished && printed_)) return;
  if (!tty_ && printed_ && since_print < 5.0 && !finished) return;
  if (tty_ && printed_ && since_print < 0.2 && !finished) return;
  std::cout.flush();
  char eta[64] = "";
  if (done > 0 && !finished)
    std::snprintf(eta, sizeof eta, ", ~%.0f s left", since_start / done * (total_ - done));
  std::cerr << (tty_ ? "\r" : "") << label_ << ": " << done << "/" << total_
            << (detail.empty() ? "" : " " + detail) << " (" << static_cast<long>(since_start)
            << " s" << eta << ")" << (tty_ ? "   " : "\n") << std::flush;
  printed_ = true;
  last_print_ = now;
}

}  // namespace kvsim
