#pragma once
// Helpers for the tests that run the shared real models
// (../shared/data/models): paths, skipping when absent, golden files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support.hpp"

namespace kvsim::test {

// Full path of `relative` inside the shared models folder, or "" when absent.
inline std::string shared_model_file(const std::string& relative) {
  const std::string dir = shared_models_dir();
  if (dir.empty()) return "";
  const auto path = std::filesystem::path(dir) / relative;
  return std::filesystem::exists(path) ? path.string() : "";
}

#define KVSIM_REQUIRE_SHARED_MODEL(var, relative)                                                  \
  const std::string var = ::kvsim::test::shared_model_file(relative);                               \
  if (var.empty())                                                                                   \
  GTEST_SKIP() << "shared model file '" << (relative) << "' not found under " << KVSIM_SHARED_MODELS \
               << " (the real-model tests need ../shared/data/models)"

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The model path a loader takes for each shared model folder.
inline std::string model_path_for(const std::string& folder) {
  return folder == "stories260K" ? "stories260K/stories260K.bin" : folder;
}

}  // namespace kvsim::test
