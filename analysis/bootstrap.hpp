#pragma once
// Uncertainty across a corpus: the mean of per-dump values with a percentile
// bootstrap interval over dumps (resample n dumps with replacement, take the
// mean, repeat; the interval is the level's central quantiles of those
// means). Seeded: the same values and seed give the same interval on every
// platform (std::mt19937_64 is specified bit for bit; indices are drawn by
// rejection, not by a library distribution whose algorithm is unspecified).
#include <cstdint>
#include <vector>

namespace kvsim::analysis {

inline constexpr int kBootstrapResamples = 2000;
inline constexpr double kIntervalLevel = 0.95;

struct MeanWithInterval {
  int n = 0;
  double mean = 0, sd = 0;  // sd: sample standard deviation (n − 1); NaN when n < 2
  double ci_lo = 0, ci_hi = 0;  // NaN when n < 2: one dump says nothing about the spread
};

// values must be finite. n = 0 gives NaN everywhere.
MeanWithInterval bootstrap_mean(const std::vector<double>& values, std::uint64_t seed,
                                int resamples = kBootstrapResamples, double level = kIntervalLevel);

// Linear-interpolation quantile (type 7) of sorted values.
double sorted_quantile(const std::vector<double>& sorted, double q);

}  // namespace kvsim::analysis
