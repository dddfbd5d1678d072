#include "policies/kernels/pooling.hpp"

#include <algorithm>

namespace kvsim {

std::vector<double> avg_pool_zero_pad(const std::vector<double>& s, int kernel) {
  const int n = static_cast<int>(s.size());
  const int half = kernel / 2;
  std::vector<double> out(n, 0.0);
  for (int j = 0; j < n; ++j) {
    double acc = 0.0;
    for (int k = std::max(0, j - half); k <= std::min(n - 1, j + half); ++k) acc += s[k];
    out[j] = acc / kernel;
  }
  return out;
}

}  // namespace kvsim
