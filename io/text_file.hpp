#pragma once
// A UTF-8 text input named by an option (--prompt-file, --question-file).
#include <string>

namespace kvsim {

// The whole file without its trailing line breaks (an editor's final newline
// is not part of a prompt). InputError naming the file and `option` when it
// is not a regular file, cannot be read, or is empty.
std::string read_text_file(const std::string& path, const char* option);

}  // namespace kvsim
