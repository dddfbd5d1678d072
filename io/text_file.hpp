#pragma once
// A UTF-8 text input named by an option (--prompt-file, --question-file).
#include <string>

namespace kvsim {

// The whole file without its trailing line breaks (an editor's final newline
// is not part of a prompt; `keep` reads every byte). InputError naming the
// file and `option` when it is not a regular file, cannot be read, is empty or
// is not valid UTF-8.
enum class TrailingLineBreaks { strip, keep };
std::string read_text_file(const std::string& path, const char* option,
                           TrailingLineBreaks trailing = TrailingLineBreaks::strip);

}  // namespace kvsim
