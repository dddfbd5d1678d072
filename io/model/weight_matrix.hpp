#pragma once
// A weight matrix as the checkpoint stores it: float32, or float16/bfloat16
// left at 2 bytes in the memory-mapped file and widened block by block as a
// product uses it, so an 8B BF16 checkpoint costs its 16 GB of mapped pages,
// not 32 GB of float32 copies (CAPTURE.md).
#include <cstddef>
#include <cstdint>

namespace kvsim {

enum class WeightDType { f32, f16, bf16 };

const char* dtype_name(WeightDType dtype);
std::size_t dtype_size(WeightDType dtype);

struct WeightMatrix {
  const void* data = nullptr;  // f32: float*, f16/bf16: uint16_t* (2-byte aligned)
  WeightDType dtype = WeightDType::f32;

  explicit operator bool() const { return data != nullptr; }
  bool operator==(const WeightMatrix& o) const { return data == o.data && dtype == o.dtype; }
  bool operator!=(const WeightMatrix& o) const { return !(*this == o); }
  // The float32 data itself, or nullptr when it has to be widened.
  const float* as_f32() const { return dtype == WeightDType::f32 ? static_cast<const float*>(data) : nullptr; }
  // Element `index` of the flattened matrix, widened.
  float at(std::size_t index) const;
  // Rows [first, first + count) of a matrix with `cols` columns, widened
  // into out[count * cols].
  void widen_rows(std::size_t first, std::size_t count, std::size_t cols, float* out) const;
};

inline WeightMatrix f32_matrix(const float* data) { return {data, WeightDType::f32}; }

}  // namespace kvsim
