#pragma once
// Shared plumbing of the libFuzzer harnesses: each input becomes a file that
// a kvsim parser opens; the parser must return or throw kvsim::InputError.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace kvsim::fuzz {

inline std::string write_input(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string path = "/tmp/kvsim-fuzz-" + std::to_string(::getpid()) + suffix;
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

}  // namespace kvsim::fuzz
