#include "io/dump_label.hpp"

#include <filesystem>

namespace kvsim {

std::string dump_label(const std::string& dump_path) {
  return std::filesystem::path(dump_path).filename().string();
}

}  // namespace kvsim
