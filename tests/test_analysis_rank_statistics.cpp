// Spearman / Pearson / quantile bins on hand-made data whose answers were
// worked out by hand (see the comments), including ties.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analysis/rank_statistics.hpp"

using namespace kvsim::analysis;

TEST(RankStatistics, AverageRanksShareTiedRanks) {
  // sorted: 1 (rank 1), 3,3 (ranks 2,3 -> 2.5), 7 (4), 9,9,9 (5,6,7 -> 6)
  const std::vector<double> v = {9, 3, 7, 9, 1, 3, 9};
  const std::vector<double> expected = {6, 2.5, 4, 6, 1, 2.5, 6};
  EXPECT_EQ(average_ranks(v), expected);
}

TEST(RankStatistics, SpearmanWithTiesMatchesHandComputation) {
  // y ranks: 1, 2, 3.5, 5, 3.5; x ranks 1..5. Deviations from the mean rank 3:
  // dx = -2,-1,0,1,2; dy = -2,-1,.5,2,.5 -> sum dxdy = 8, sum dx^2 = 10,
  // sum dy^2 = 9.5, rho = 8 / sqrt(95).
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const std::vector<double> y = {5, 6, 7, 8, 7};
  EXPECT_NEAR(spearman(x, y), 8.0 / std::sqrt(95.0), 1e-12);
}

TEST(RankStatistics, SpearmanWithoutTiesMatchesClassicFormula) {
  // rho = 1 - 6 sum d^2 / (n (n^2 - 1)) holds exactly when there are no ties.
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  const int n = 50;
  std::vector<double> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = normal(rng);
    y[i] = x[i] + normal(rng);
  }
  const auto rx = average_ranks(x), ry = average_ranks(y);
  double d2 = 0;
  for (int i = 0; i < n; ++i) d2 += (rx[i] - ry[i]) * (rx[i] - ry[i]);
  EXPECT_NEAR(spearman(x, y), 1 - 6 * d2 / (n * (double(n) * n - 1)), 1e-12);
}

TEST(RankStatistics, SpearmanIsRankInvariantPearsonIsNot) {
  std::vector<double> x, y;
  for (int i = 1; i <= 20; ++i) {
    x.push_back(i);
    y.push_back(std::exp(0.5 * i));  // monotone but far from linear
  }
  EXPECT_DOUBLE_EQ(spearman(x, y), 1.0);
  EXPECT_LT(pearson(x, y), 0.9);
  std::vector<double> reversed(y.rbegin(), y.rend());
  EXPECT_DOUBLE_EQ(spearman(x, reversed), -1.0);
}

TEST(RankStatistics, PearsonOfConstantIsNaN) {
  EXPECT_TRUE(std::isnan(pearson({1, 2, 3}, {4, 4, 4})));
  EXPECT_TRUE(std::isnan(spearman({1}, {2})));
}

TEST(RankStatistics, GuardedLogMapsZeroToSmallestPositive) {
  const auto l = guarded_log({0.0, 1e-3, 1.0});
  EXPECT_DOUBLE_EQ(l[0], std::log(1e-3));
  EXPECT_DOUBLE_EQ(l[1], std::log(1e-3));
  EXPECT_DOUBLE_EQ(l[2], 0.0);
}

TEST(RankStatistics, QuantileBinsSplitEvenlyAndAverageY) {
  // x = 0..19 shuffled, y = 2x: 10 bins of 2 -> bin b holds x = 2b, 2b+1
  std::vector<double> x, y;
  for (int i = 19; i >= 0; --i) {
    x.push_back(i);
    y.push_back(2.0 * i);
  }
  const auto bins = quantile_bins(x, y, 10);
  ASSERT_EQ(bins.size(), 10u);
  for (int b = 0; b < 10; ++b) {
    EXPECT_EQ(bins[b].count, 2u);
    EXPECT_DOUBLE_EQ(bins[b].x_lo, 2.0 * b);
    EXPECT_DOUBLE_EQ(bins[b].x_hi, 2.0 * b + 1);
    EXPECT_DOUBLE_EQ(bins[b].y_mean, 2.0 * (2.0 * b + 0.5));
  }
  // uneven n: sizes differ by at most one and add up
  const auto odd = quantile_bins(std::vector<double>(23, 1.0), std::vector<double>(23, 1.0), 10);
  std::size_t total = 0;
  for (const auto& b : odd) {
    EXPECT_GE(b.count, 2u);
    EXPECT_LE(b.count, 3u);
    total += b.count;
  }
  EXPECT_EQ(total, 23u);
}
