#pragma once
// Progress reports on stderr for long runs: an updating line on a terminal,
// an occasional plain line otherwise (logs stay readable). Short runs print
// nothing, so quick commands keep a clean stderr.
#include <chrono>
#include <string>

namespace kvsim {

class Progress {
 public:
  Progress(std::string label, long total, double quiet_seconds = 1.0);
  ~Progress();
  void update(long done, const std::string& detail = "");

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  long total_;
  double quiet_seconds_;
  Clock::time_point start_, last_print_;
  bool tty_;
  bool printed_ = false;
};

}  // namespace kvsim
