#pragma once
// Shared helpers for the test suite: scratch directories and running the
// kvsim binary as a user would.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace kvsim::test {

// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `kvsim <args>` through /bin/sh (args are passed verbatim), capturing output.
CommandResult run_kvsim(const std::string& args);
// Runs an arbitrary shell command line, capturing output.
CommandResult run_shell(const std::string& command);

// Starts `kvsim <args>` in the background (stdout/stderr to the given files,
// `env` = "VAR=value ..." added to its environment) and returns its pid, for
// tests that signal a running command.
int start_kvsim(const std::string& args, const std::string& out_file, const std::string& err_file,
                const std::string& env = "");
// Waits for a process started by start_kvsim; exit status, or 128 + signal.
int wait_exit(int pid);

std::string read_text(const std::string& path);

// A 2-layer, 4-head (2 KV heads), d = 16, 160-token dump written by
// `kvsim synth` with `extra` options, as DIR/d.h5; returns its path.
std::string synth_small_dump(const ScratchDir& dir, const std::string& extra);

// The shared real models (../shared/data/models), or "" when absent.
std::string shared_models_dir();

}  // namespace kvsim::test
