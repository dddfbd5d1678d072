#pragma once
// Rank and linear correlation statistics used by the diversity–attention
// analysis. Plain std::vector<double> in and out so they can be checked on
// hand-made data without any tensors.
#include <cstddef>
#include <vector>

namespace kvsim::analysis {

// 1-based ranks; tied values share the average of the ranks they span
// (the "fractional ranking" that Spearman's rho with ties is defined on).
std::vector<double> average_ranks(const std::vector<double>& values);

// Pearson correlation; NaN when either side has zero variance or n < 2.
double pearson(const std::vector<double>& x, const std::vector<double>& y);

// Spearman rho = Pearson correlation of the average ranks.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// log(y) with exact zeros (softmax underflow) replaced by the smallest positive
// y in the set, so a zero never turns into -inf and still ranks lowest.
std::vector<double> guarded_log(const std::vector<double>& y);

struct QuantileBin {
  double x_lo = 0, x_hi = 0;  // smallest / largest x in the bin
  double x_mean = 0, y_mean = 0;
  std::size_t count = 0;
};

// Sorts the pairs by x and splits them into `n_bins` bins of (almost) equal
// count — deciles for n_bins = 10. Bins are empty only when n < n_bins.
std::vector<QuantileBin> quantile_bins(const std::vector<double>& x, const std::vector<double>& y,
                                       int n_bins);

}  // namespace kvsim::analysis
