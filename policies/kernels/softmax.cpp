#include "policies/kernels/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace kvsim {

namespace {
// Cephes expf on [-64, 88.4] (0 below -64): exp(x) = 2^n exp(g), n = round(x log2 e), |g| <= ln2/2,
// degree-6 polynomial. Written branch-free so that the loops below vectorise.
// no-trapping-math lets GCC if-convert the clamps so the loops vectorise (the
// results are identical; only floating-point exception flags are affected).
#define KVSIM_VECTORISE __attribute__((optimize("no-trapping-math")))
KVSIM_VECTORISE inline float exp_kernel(float x) {
  const float x0 = x;
  x = x > -64.f ? x : -64.f;  // no denormal intermediates (they cost microcode assists)
  x = x < 88.3762626647949f ? x : 88.3762626647949f;
  const float t = x * 1.44269504088896341f + 12582912.f;  // round to nearest via 1.5*2^23
  const float fn = t - 12582912.f;
  const std::int32_t n = __builtin_bit_cast(std::int32_t, t) - 0x4B400000;
  x = x - fn * 0.693359375f;
  x = x - fn * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500E-4f;
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * z + x + 1.0f;
  y = y * __builtin_bit_cast(float, (n + 127) << 23);
  // Flush below e^-64 (~1.6e-28) to 0: keeps denormals out of the GEMMs that
  // consume probabilities (a 10x slowdown otherwise); relative effect < 1e-23.
  return x0 >= -64.f ? y : 0.f;
}
}  // namespace

float expf_fast(float x) { return exp_kernel(x); }

KVSIM_VECTORISE double exp_row(float* row, int n_visible) {
  if (n_visible <= 0) return 0.0;
  float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < n_visible; ++j) mx = row[j] > mx ? row[j] : mx;
#pragma omp simd
  for (int j = 0; j < n_visible; ++j) row[j] = exp_kernel(row[j] - mx);
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int j = 0;
  for (; j + 4 <= n_visible; j += 4) {
    s0 += row[j];
    s1 += row[j + 1];
    s2 += row[j + 2];
    s3 += row[j + 3];
  }
  for (; j < n_visible; ++j) s0 += row[j];
  return (s0 + s1) + (s2 + s3);
}

KVSIM_VECTORISE double softmax_row(float* row, int n_visible, int n) {
  if (n_visible <= 0) {
    std::fill(row, row + n, 0.f);
    return 0.0;
  }
  const double sum = exp_row(row, n_visible);
  const float inv = static_cast<float>(1.0 / sum);
#pragma omp simd
  for (int j = 0; j < n_visible; ++j) row[j] *= inv;
  std::fill(row + n_visible, row + n, 0.f);
  return sum;
}

}  // namespace kvsim
