#include "analysis/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace kvsim::analysis {

namespace {
// Uniform index in [0, n) from a 64-bit generator, without modulo bias.
std::size_t draw_index(std::mt19937_64& rng, std::size_t n) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t r;
  do r = rng();
  while (r >= limit);
  return static_cast<std::size_t>(r % n);
}
}  // namespace

double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * double(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(sorted.size() - 1, lo + 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

MeanWithInterval bootstrap_mean(const std::vector<double>& values, std::uint64_t seed, int resamples, double level) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  MeanWithInterval out;
  out.n = static_cast<int>(values.size());
  if (values.empty()) return {0, nan, nan, nan, nan};
  const double n = double(values.size());
  out.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  if (values.size() < 2) {
    out.sd = out.ci_lo = out.ci_hi = nan;
    return out;
  }
  double ss = 0;
  for (double v : values) ss += (v - out.mean) * (v - out.mean);
  out.sd = std::sqrt(ss / (n - 1));
  std::mt19937_64 rng(seed);
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (auto& m : means) {
    double sum = 0;
    for (std::size_t k = 0; k < values.size(); ++k) sum += values[draw_index(rng, values.size())];
    m = sum / n;
  }
  std::sort(means.begin(), means.end());
  out.ci_lo = sorted_quantile(means, (1 - level) / 2);
  out.ci_hi = sorted_quantile(means, 1 - (1 - level) / 2);
  return out;
}

}  // namespace kvsim::analysis
