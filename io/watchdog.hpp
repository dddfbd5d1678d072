#pragma once
// Turns a hang inside a library call into a clear error and exit status 1.
// libhdf5 1.10 can loop forever on some corrupted files (found by
// tests/fuzz/fuzz_kvdump: a damaged global heap behind a string attribute);
// a hung call cannot be cancelled, so when an armed deadline passes the
// process prints "kvsim: error: <what>" on stderr and exits with status 1.
#include <string>

namespace kvsim {

class WatchdogGuard {
 public:
  // Deadline in seconds; the environment variable KVSIM_IO_TIMEOUT overrides it.
  WatchdogGuard(double seconds, std::string what);
  ~WatchdogGuard();
  WatchdogGuard(const WatchdogGuard&) = delete;
  WatchdogGuard& operator=(const WatchdogGuard&) = delete;

 private:
  unsigned long id_;
};

}  // namespace kvsim
