#include "sim/run/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "io/errors.hpp"

namespace kvsim {

OutputDirLock::OutputDirLock(const std::string& dir, const std::string& option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(option + " " + dir + ": cannot create the output directory" +
                     (ec ? ": " + ec.message() : ": a file of that name exists"));
  const std::string path = (fs::path(dir) / kFileName).string();
  // Opening the lock file for writing doubles as the up-front "is the output
  // directory writable" check, before any compute is spent.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw InputError(option + " " + dir + ": output directory is not writable: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[32] = {0};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw InputError(option + " " + dir + ": another kvsim run" +
                       (pid.empty() ? std::string() : " (pid " + pid + ")") +
                       " is writing to this directory (" + path +
                       " is locked); wait for it or choose another --out");
    throw InputError(option + " " + dir + ": cannot lock " + path + ": " + std::strerror(err));
  }
  // Record the owner for the message above (informational only).
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    const ssize_t ignored = ::pwrite(fd_, me.data(), me.size(), 0);
    (void)ignored;
  }
}

OutputDirLock::~OutputDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace kvsim
