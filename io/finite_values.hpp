#pragma once
// Locating NaN/Inf in float arrays: model weights when a checkpoint is loaded,
// activations while a capture runs. One non-finite weight or activation
// poisons every later layer, and a dump full of NaN must never be written.
#include <cmath>
#include <cstddef>

namespace kvsim {

// Index of the first NaN/Inf in [data, data + n), or n when all are finite.
inline std::size_t first_nonfinite(const float* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return i;
  return n;
}

// "nan", "inf" or "-inf", for messages.
inline const char* nonfinite_name(float x) { return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf"; }

}  // namespace kvsim
