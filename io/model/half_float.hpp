#pragma once
// Widening of the 16-bit float formats that checkpoints are stored in.
// Both are exact: every f16 and bf16 value is representable in f32.
#include <cstdint>
#include <cstring>

namespace kvsim {

inline float bf16_to_f32(std::uint16_t bits) {
  // bf16 is the upper half of an IEEE f32.
  std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof out);
  return out;
}

inline float f16_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  std::uint32_t exponent = (bits >> 10) & 0x1fu;
  std::uint32_t mantissa = bits & 0x3ffu;
  std::uint32_t wide;
  if (exponent == 0x1f) {  // inf / nan
    wide = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal
    wide = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    wide = sign;
  } else {  // subnormal: renormalise into an f32 normal
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ffu;
    wide = sign | (static_cast<std::uint32_t>(113 - shift) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &wide, sizeof out);
  return out;
}

}  // namespace kvsim
