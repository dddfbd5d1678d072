#pragma once
// nlohmann-json's messages start with an internal tag ("[json.exception.
// type_error.302] type must be number, but is string"); users get the part
// after it, next to the file and field that kvsim names itself.
#include <nlohmann/json.hpp>
#include <string>

namespace kvsim {

inline std::string json_error_detail(const nlohmann::json::exception& error) {
  std::string text = error.what();
  if (!text.empty() && text.front() == '[') {
    const auto end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  return text;
}

}  // namespace kvsim
