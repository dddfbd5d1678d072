// Attention received (BLAS path vs a naive loop) and the diversity–attention
// correlation on synthetic layers where the answer is known by construction.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analysis/attention_received.hpp"
#include "analysis/diversity_correlation.hpp"
#include "analysis/key_scores.hpp"

using namespace kvsim;
using namespace kvsim::analysis;

namespace {

Tensor3 random_tensor(std::size_t a, std::size_t b, std::size_t c, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  Tensor3 t = Tensor3::from_shape({a, b, c});
  for (auto& v : t) v = normal(rng);
  return t;
}

// Layer whose context keys spread around a shared direction e0 (unit
// directions e0 + 0.8 noise, norms 4 +- 10%). Future queries point against
// e0 (attend_distinctive: q.k grows as cos(k, e0) falls, so the keys far from
// the mean direction get the attention) or along e0 (the control).
struct SyntheticLayer {
  Tensor3 q, k;
  int context_len;
};

SyntheticLayer make_layer(bool attend_distinctive, unsigned seed) {
  const int H = 4, G = 2, d = 16, C = 300, T = 340;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  SyntheticLayer L{Tensor3::from_shape({H, T, d}), Tensor3::from_shape({G, T, d}), C};
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) {
      std::vector<float> dir(d);
      float norm2 = 0;
      for (int c = 0; c < d; ++c) {
        dir[c] = (c == 0 ? 1.0f : 0.0f) + 0.8f * normal(rng);
        norm2 += dir[c] * dir[c];
      }
      const float length = 4.0f * (1.0f + 0.1f * normal(rng)) / std::sqrt(norm2);
      for (int c = 0; c < d; ++c) L.k(g, t, c) = dir[c] * length;
    }
  const float sign = attend_distinctive ? -1.0f : 1.0f;
  for (int h = 0; h < H; ++h)
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < d; ++c)
        L.q(h, t, c) = (t >= C && c == 0 ? 3.0f * sign : 0.0f) + 0.5f * normal(rng);
  return L;
}

}  // namespace

TEST(AttentionReceived, MatchesNaiveCausalSoftmax) {
  const int H = 4, G = 2, T = 23, d = 5, C = 15;
  const Tensor3 q = random_tensor(H, T, d, 1), k = random_tensor(G, T, d, 2);
  const double scale = 0.7;
  const Matrix fast = attention_received_by_context(q, k, C, scale);
  for (int h = 0; h < H; ++h) {
    const int g = h / 2;
    std::vector<double> expected(C, 0.0);
    for (int t = C; t < T; ++t) {
      std::vector<double> s(t + 1);
      double z = 0;
      for (int j = 0; j <= t; ++j) {
        double dot = 0;
        for (int c = 0; c < d; ++c) dot += double(q(h, t, c)) * k(g, j, c);
        s[j] = std::exp(scale * dot);
        z += s[j];
      }
      for (int j = 0; j < C; ++j) expected[j] += s[j] / z / (T - C);
    }
    for (int j = 0; j < C; ++j) EXPECT_NEAR(fast(h, j), expected[j], 1e-6) << h << "," << j;
  }
  const Matrix grouped = group_mean(fast, G);
  EXPECT_NEAR(grouped(1, 3), 0.5 * (fast(2, 3) + fast(3, 3)), 1e-7);
}

TEST(AttentionReceived, RejectsContextWithoutFutureQueries) {
  const Tensor3 q = random_tensor(2, 8, 4, 3), k = random_tensor(1, 8, 4, 4);
  EXPECT_THROW(attention_received_by_context(q, k, 8, 1.0), std::invalid_argument);
  EXPECT_THROW(attention_received_by_context(q, k, 0, 1.0), std::invalid_argument);
}

TEST(KeyScores, DistinctivenessIsMinusCosineToMeanUnitKey) {
  Matrix keys = {{2, 0}, {5, 0}, {0, 1}};
  // unit keys (1,0),(1,0),(0,1); mean (2/3, 1/3); cos with (1,0) = 2/sqrt5
  const auto x = keydiff_distinctiveness(keys);
  EXPECT_NEAR(x[0], -2 / std::sqrt(5.0), 1e-9);
  EXPECT_NEAR(x[1], -2 / std::sqrt(5.0), 1e-9);
  EXPECT_NEAR(x[2], -1 / std::sqrt(5.0), 1e-9);
  const auto n = negative_key_norm(keys);
  EXPECT_DOUBLE_EQ(n[1], -5.0);
}

TEST(DiversityCorrelation, DistinctiveKeysAttendedGivesStrongPositiveRho) {
  const auto L = make_layer(/*attend_distinctive=*/true, 11);
  const auto heads = correlate_layer(L.q, L.k, L.context_len, 0.25, 0);
  ASSERT_EQ(heads.size(), 4u);
  for (const auto& h : heads) {
    EXPECT_GT(h.keydiff.spearman_rho, 0.5) << "head " << h.head;
    EXPECT_GT(h.keydiff.pearson_r_log, 0.3) << "head " << h.head;
    // the most distinctive decile gets more attention than the least
    EXPECT_GT(h.keydiff.bins.back().y_mean, h.keydiff.bins.front().y_mean);
  }
  const auto s = summarize(heads, kScoreKeyDiff);
  EXPECT_DOUBLE_EQ(s.share_rho_positive, 1.0);
  EXPECT_GT(s.mean_rho, 0.5);
  ASSERT_EQ(s.bins.size(), 10u);
}

TEST(DiversityCorrelation, CommonKeysAttendedGivesNegativeRho) {
  const auto L = make_layer(/*attend_distinctive=*/false, 12);
  const auto heads = correlate_layer(L.q, L.k, L.context_len, 0.25, 0);
  const auto s = summarize(heads, kScoreKeyDiff);
  EXPECT_LT(s.mean_rho, 0.0);
  EXPECT_DOUBLE_EQ(s.share_rho_positive, 0.0);
}
