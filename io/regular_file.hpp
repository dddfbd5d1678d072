#pragma once
// What a path names, found with stat() before anything opens it. Inputs must
// be regular files: open() on a FIFO blocks until a writer appears (a dump
// would hang until the watchdog's deadline), a character device can stream
// forever, and a directory opens but reads as empty. Checking first turns each
// of these into an immediate, clear error.
#include <string>

namespace kvsim {

enum class PathKind { missing, regular, directory, special, inaccessible };

struct PathStatus {
  PathKind kind = PathKind::missing;
  std::string detail;  // special: "FIFO", "character device", ...; inaccessible: strerror
};

// Follows symbolic links, like open() does.
PathStatus path_status(const std::string& path);

// Throws InputError "<path>: no such file", "<path>: not a regular file (FIFO)"
// (directory, character device, block device, socket) or
// "<path>: cannot access: <reason>".
void require_regular_file(const std::string& path);

}  // namespace kvsim
