#pragma once
// Error classes that the CLI maps to exit codes (DESIGN §7):
// UsageError -> 2 (bad options), InputError -> 1 (bad input or failure).
#include <stdexcept>
#include <string>

namespace kvsim {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace kvsim
