// Our float16 conversions against HDF5's own (an independent implementation),
// over every one of the 65536 half bit patterns and around rounding ties.
#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "io/half.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

hid_t half_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  H5Tset_precision(t, 16);
  return t;
}

TEST(Half, ArrayWideningEqualsScalar) {
  std::vector<std::uint16_t> halves(65536 + 7);  // + a tail the vector loop does alone
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i * 40503u);
  for (std::size_t i = 0; i < 65536; ++i) halves[i] = static_cast<std::uint16_t>(i);
  std::vector<float> wide(halves.size());
  widen_halves(halves.data(), wide.data(), halves.size());
  for (std::size_t i = 0; i < halves.size(); ++i) {
    const float scalar = half_to_float(halves[i]);
    std::uint32_t a, b;
    std::memcpy(&a, &wide[i], 4);
    std::memcpy(&b, &scalar, 4);
    ASSERT_EQ(a, b) << "bits " << halves[i];
  }
}

TEST(Half, WideningMatchesHdf5OnAllBitPatterns) {
  std::vector<std::uint16_t> halves(65536);
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i);
  std::vector<float> converted(halves.size());
  std::memcpy(converted.data(), halves.data(), halves.size() * 2);  // H5Tconvert works in place
  hid_t src = half_type();
  ASSERT_GE(H5Tconvert(src, H5T_NATIVE_FLOAT, halves.size(), converted.data(), nullptr, H5P_DEFAULT), 0);
  H5Tclose(src);
  for (std::size_t i = 0; i < halves.size(); ++i) {
    const float ours = half_to_float(halves[i]);
    if (std::isnan(converted[i])) {
      ASSERT_TRUE(std::isnan(ours)) << i;
      continue;
    }
    ASSERT_EQ(ours, converted[i]) << "bits " << i;
    ASSERT_EQ(float_to_half(ours), halves[i]) << "round trip of bits " << i;
  }
}

TEST(Half, NarrowingRoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);             // tie -> even (down)
  EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3c02);             // tie -> even (up)
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048 + 1e-6f), 0x3c01);     // above tie
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);                        // overflow to inf
  EXPECT_EQ(float_to_half(-1e-8f), 0x8000);                          // underflow to -0
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);           // smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);           // tie -> even (zero)
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002);           // tie -> even (two)
  EXPECT_EQ(float_to_half(std::ldexp(1023.75f, -24)), 0x0400);       // rounds up into normals
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
  EXPECT_EQ(float_to_half(-INFINITY), 0xfc00);
}

}  // namespace
}  // namespace kvsim
