#include "io/model/weight_matrix.hpp"

#include <algorithm>
#include <cstring>

#include "io/half.hpp"

namespace kvsim {

const char* dtype_name(WeightDType dtype) {
  switch (dtype) {
    case WeightDType::f32: return "F32";
    case WeightDType::f16: return "F16";
    case WeightDType::bf16: return "BF16";
  }
  return "?";
}

std::size_t dtype_size(WeightDType dtype) { return dtype == WeightDType::f32 ? 4 : 2; }

float WeightMatrix::at(std::size_t index) const {
  float value;
  widen_rows(index, 1, 1, &value);
  return value;
}

void WeightMatrix::widen_rows(std::size_t first, std::size_t count, std::size_t cols, float* out) const {
  const std::size_t begin = first * cols, n = count * cols;
  if (dtype == WeightDType::f32) {
    std::memcpy(out, static_cast<const float*>(data) + begin, n * sizeof(float));
    return;
  }
  const std::uint16_t* bits = static_cast<const std::uint16_t*>(data) + begin;
  const long long total = static_cast<long long>(n);
  if (dtype == WeightDType::bf16) {
#pragma omp parallel for schedule(static) if (total > (1 << 20))
    for (long long i = 0; i < total; ++i) out[i] = bfloat16_to_float(bits[i]);
  } else {
    constexpr long long kBlock = 1 << 16;
#pragma omp parallel for schedule(static) if (total > (1 << 20))
    for (long long i = 0; i < total; i += kBlock)
      widen_halves(bits + i, out + i, static_cast<std::size_t>(std::min(kBlock, total - i)));
  }
}

}  // namespace kvsim
