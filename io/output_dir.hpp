#pragma once
// Creating an output directory (`--out`) with a message that names the option
// and the reason, instead of std::filesystem's "filesystem error:
// create_directories: ..." text.
#include <string>

namespace kvsim {

// Creates `dir` and its parents if needed. Throws InputError
// "<option> <dir>: cannot create the output directory: <reason>".
void create_output_directory(const std::string& dir, const std::string& option);

}  // namespace kvsim
