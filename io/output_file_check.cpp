#include "io/output_file_check.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "io/errors.hpp"
#include "io/regular_file.hpp"

namespace kvsim {

void require_creatable_output_file(const std::string& path, const std::string& option) {
  const std::string where = option + " " + path + ": ";
  const PathStatus target = path_status(path);
  if (target.kind == PathKind::directory)
    throw InputError(where + "is a directory; give the name of the file to write");
  if (target.kind == PathKind::special) throw InputError(where + "is not a regular file (" + target.detail + ")");
  if (target.kind == PathKind::inaccessible) throw InputError(where + "cannot access: " + target.detail);

  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";
  const PathStatus parent = path_status(folder);
  if (parent.kind == PathKind::missing) throw InputError(where + "folder " + folder + " does not exist");
  if (parent.kind != PathKind::directory) throw InputError(where + folder + " is not a folder");

  std::string probe = (std::filesystem::path(folder) / ".kvsim-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) throw InputError(where + "cannot create a file in " + folder + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace kvsim
