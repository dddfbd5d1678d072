#include "io/regular_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "io/errors.hpp"

namespace kvsim {

namespace {

const char* special_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  return "special file";
}

}  // namespace

PathStatus path_status(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    // ENOTDIR: a component of the path is a file, so nothing is there either.
    if (errno == ENOENT || errno == ENOTDIR) return {PathKind::missing, ""};
    return {PathKind::inaccessible, std::strerror(errno)};
  }
  if (S_ISREG(st.st_mode)) return {PathKind::regular, ""};
  if (S_ISDIR(st.st_mode)) return {PathKind::directory, "directory"};
  return {PathKind::special, special_kind(st.st_mode)};
}

void require_regular_file(const std::string& path) {
  const PathStatus status = path_status(path);
  switch (status.kind) {
    case PathKind::regular: return;
    case PathKind::missing: throw InputError(path + ": no such file");
    case PathKind::inaccessible: throw InputError(path + ": cannot access: " + status.detail);
    case PathKind::directory:
    case PathKind::special: throw InputError(path + ": not a regular file (" + status.detail + ")");
  }
}

}  // namespace kvsim
