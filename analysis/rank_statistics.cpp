#include "analysis/rank_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace kvsim::analysis {

namespace {

void require_same_length(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw std::invalid_argument("correlation: x and y differ in length");
}

std::vector<std::size_t> order_by(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // stable, so equal x keep their position order and bins are reproducible
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  return order;
}

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& values) {
  const auto order = order_by(values);
  std::vector<double> ranks(values.size());
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i + 1;
    while (j < order.size() && values[order[j]] == values[order[i]]) ++j;
    // positions i..j-1 (0-based) hold equal values: ranks i+1..j, average (i+1+j)/2
    const double shared = 0.5 * static_cast<double>(i + 1 + j);
    for (std::size_t k = i; k < j; ++k) ranks[order[k]] = shared;
    i = j;
  }
  return ranks;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  require_same_length(x, y);
  const std::size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  require_same_length(x, y);
  return pearson(average_ranks(x), average_ranks(y));
}

std::vector<double> guarded_log(const std::vector<double>& y) {
  double smallest_positive = std::numeric_limits<double>::infinity();
  for (double v : y)
    if (v > 0) smallest_positive = std::min(smallest_positive, v);
  if (!std::isfinite(smallest_positive)) smallest_positive = std::numeric_limits<double>::min();
  std::vector<double> out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) out[i] = std::log(std::max(y[i], smallest_positive));
  return out;
}

std::vector<QuantileBin> quantile_bins(const std::vector<double>& x, const std::vector<double>& y,
                                       int n_bins) {
  require_same_length(x, y);
  if (n_bins < 1) throw std::invalid_argument("quantile_bins: n_bins < 1");
  const auto order = order_by(x);
  const std::size_t n = x.size();
  std::vector<QuantileBin> bins(static_cast<std::size_t>(n_bins));
  for (int b = 0; b < n_bins; ++b) {
    // [n*b/n_bins, n*(b+1)/n_bins): sizes differ by at most one
    const std::size_t begin = n * b / n_bins, end = n * (b + 1) / n_bins;
    QuantileBin& bin = bins[b];
    bin.count = end - begin;
    if (bin.count == 0) {
      bin.x_lo = bin.x_hi = bin.x_mean = bin.y_mean = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    bin.x_lo = x[order[begin]];
    bin.x_hi = x[order[end - 1]];
    double sx = 0, sy = 0;
    for (std::size_t k = begin; k < end; ++k) {
      sx += x[order[k]];
      sy += y[order[k]];
    }
    bin.x_mean = sx / bin.count;
    bin.y_mean = sy / bin.count;
  }
  return bins;
}

}  // namespace kvsim::analysis
