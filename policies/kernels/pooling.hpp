#pragma once
// Sequence pooling of scores (SnapKV's smoothing).
#include <vector>

namespace kvsim {

// Average pooling along the sequence, odd kernel, zero padding counted (PyTorch
// avg_pool1d(kernel, padding=kernel/2, count_include_pad=True)).
std::vector<double> avg_pool_zero_pad(const std::vector<double>& s, int kernel);

}  // namespace kvsim
