#pragma once
// Exclusive ownership of an output directory for the duration of a run, so
// that two runs writing results.csv / the resume journal into the same
// directory cannot interleave. flock(2) on DIR/.kvsim.lock: the kernel drops
// the lock when the process dies, so a killed run never leaves a stale lock.
// The lock file itself is left in place (deleting it would race with a run
// that has just opened it).
#include <string>

namespace kvsim {

class OutputDirLock {
 public:
  // Creates `dir` if needed and takes the lock. Throws InputError naming
  // `option` (e.g. "--out") when the directory cannot be created or written,
  // or when another process holds the lock (its pid is in the message).
  OutputDirLock(const std::string& dir, const std::string& option);
  ~OutputDirLock();
  OutputDirLock(const OutputDirLock&) = delete;
  OutputDirLock& operator=(const OutputDirLock&) = delete;

  static constexpr const char* kFileName = ".kvsim.lock";

 private:
  int fd_ = -1;
};

}  // namespace kvsim
