#include "tests/support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kvsim::test {

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "kvsim";
  for (char& c : name)
    if (c == '/') c = '_';
  path_ = std::filesystem::temp_directory_path() /
          ("kvsim-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CommandResult run_shell(const std::string& command) {
  ScratchDir scratch;
  const std::string out = scratch.file("stdout"), err = scratch.file("stderr");
  const std::string line = command + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(line.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

int start_kvsim(const std::string& args, const std::string& out_file, const std::string& err_file,
                const std::string& env) {
  // exec env: the pid returned is kvsim itself, not a shell, so signals reach it.
  const std::string line = "exec env " + env + " " + std::string(KVSIM_BINARY) + " " + args + " >" + out_file + " 2>" +
                           err_file + " </dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_exit(int pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

CommandResult run_kvsim(const std::string& args) {
  return run_shell(std::string(KVSIM_BINARY) + " " + args);
}

std::string shared_models_dir() {
  const std::filesystem::path dir = KVSIM_SHARED_MODELS;
  return std::filesystem::is_directory(dir) ? std::filesystem::canonical(dir).string() : "";
}

std::string synth_small_dump(const ScratchDir& dir, const std::string& extra) {
  const std::string path = dir.file("d.h5");
  const auto r = run_kvsim("synth --out " + path + " --layers 2 --heads 4 --kv-heads 2 --head-dim 16 --tokens 160 " +
                           extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

}  // namespace kvsim::test
