#pragma once
// Checks, before any expensive work (running a model, generating layers), that
// a single output file can be created where the user asked: a capture that
// fails only when it writes has wasted the whole model run.
#include <string>

namespace kvsim {

// Throws InputError "<option> <path>: ..." when `path` is a directory or a
// special file (renaming onto /dev/null would replace it), when its folder is
// missing or not a folder, or when a file cannot be created in that folder
// (read-only file system, permissions, no space for even an empty file). The
// probe is a uniquely named empty file, removed at once.
void require_creatable_output_file(const std::string& path, const std::string& option);

}  // namespace kvsim
