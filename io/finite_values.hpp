#pragma once
// Locating NaN/Inf in float arrays: model weights when a checkpoint is loaded,
// activations while a capture runs. One non-finite weight or activation
// poisons every later layer, and a dump full of NaN must never be written.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kvsim {

// Index of the first NaN/Inf in [data, data + n), or n when all are finite.
// Blocks are tested with a branch-free exponent check (vectorised: the
// dump-read stage scans every value), and only a failing block is searched.
inline std::size_t first_nonfinite(const float* data, std::size_t n) {
  constexpr std::size_t kBlock = 1024;
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t end = std::min(n, start + kBlock);
    std::uint32_t all_ones = 0;
#pragma omp simd reduction(| : all_ones)
    for (std::size_t i = start; i < end; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, data + i, sizeof bits);
      all_ones |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (!all_ones) continue;
    for (std::size_t i = start; i < end; ++i)
      if (!std::isfinite(data[i])) return i;
  }
  return n;
}

// "nan", "inf" or "-inf", for messages.
inline const char* nonfinite_name(float x) { return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf"; }

}  // namespace kvsim
