// PCA of keys: recovered spectra against known covariances, effective rank at
// its two extremes, pairwise cosine, and the per-layer driver with a kept set.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <xtensor/xadapt.hpp>

#include "analysis/key_pca.hpp"
#include "analysis/pca_layer.hpp"

using namespace kvsim;
using namespace kvsim::analysis;

namespace {

// Keys x = Q diag(sqrt(lambda)) z + mu with z ~ N(0, I) and Q a Householder
// reflection (orthogonal, known in closed form), so Cov(x) has eigenvalues
// lambda exactly.
Matrix keys_with_spectrum(const std::vector<double>& lambda, std::size_t n, unsigned seed) {
  const std::size_t d = lambda.size();
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(d);
  double vv = 0;
  for (std::size_t i = 0; i < d; ++i) {
    v[i] = 1.0 + i;
    vv += v[i] * v[i];
  }
  Matrix keys = Matrix::from_shape({n, d});
  std::vector<double> a(d);
  for (std::size_t r = 0; r < n; ++r) {
    double va = 0;
    for (std::size_t i = 0; i < d; ++i) {
      a[i] = std::sqrt(lambda[i]) * normal(rng);
      va += v[i] * a[i];
    }
    for (std::size_t i = 0; i < d; ++i) keys(r, i) = float(a[i] - 2 * v[i] * va / vv + 3.0);
  }
  return keys;
}

}  // namespace

TEST(KeyPca, RecoversKnownSpectrumWithinSamplingError) {
  const std::vector<double> lambda = {9, 4, 2, 1, 0.5, 0.25, 0.1, 0.05};
  const std::size_t n = 20000;
  const KeyPca pca = key_pca(keys_with_spectrum(lambda, n, 1));
  ASSERT_EQ(pca.eigenvalues.size(), lambda.size());
  for (std::size_t i = 0; i < lambda.size(); ++i) {
    // sample eigenvalue sd ~ lambda sqrt(2/n); allow 4 sd
    EXPECT_NEAR(pca.eigenvalues(i), lambda[i], 4 * lambda[i] * std::sqrt(2.0 / n)) << "i=" << i;
    EXPECT_NEAR(pca.mean(i), 3.0, 0.1);
  }
  EXPECT_NEAR(effective_rank(pca.eigenvalues), effective_rank(xt::adapt(lambda)), 0.05);
}

TEST(KeyPca, EffectiveRankOfIsotropicKeysIsHeadDim) {
  const std::size_t d = 16;
  const KeyPca pca = key_pca(keys_with_spectrum(std::vector<double>(d, 1.0), 20000, 2));
  EXPECT_GT(pca.effective_rank(), d - 0.1);
  EXPECT_LE(pca.effective_rank(), d + 1e-9);
}

TEST(KeyPca, EffectiveRankOfRankOneKeysIsOne) {
  std::vector<double> lambda(16, 1e-8);
  lambda[0] = 5.0;
  const KeyPca pca = key_pca(keys_with_spectrum(lambda, 5000, 3));
  EXPECT_NEAR(pca.effective_rank(), 1.0, 0.01);
  EXPECT_NEAR(pca.explained_ratio()(0), 1.0, 1e-4);
}

TEST(KeyPca, EffectiveRankClosedForms) {
  EXPECT_NEAR(effective_rank(xt::xtensor<double, 1>{1, 1, 1, 1}), 4.0, 1e-12);
  EXPECT_NEAR(effective_rank(xt::xtensor<double, 1>{3, 0, 0}), 1.0, 1e-12);
  // p = (.5, .25, .25): H = 1.5 ln 2
  EXPECT_NEAR(effective_rank(xt::xtensor<double, 1>{2, 1, 1}), std::exp(1.5 * std::log(2.0)), 1e-12);
}

TEST(KeyPca, Top2CoordinatesAreVarianceOfLeadingComponents) {
  const std::vector<double> lambda = {9, 4, 1, 0.5};
  const Matrix keys = keys_with_spectrum(lambda, 10000, 4);
  const KeyPca pca = key_pca(keys);
  const auto coords = pca.project_top2(keys);
  for (int c = 0; c < 2; ++c) {
    double mean = 0, var = 0;
    for (std::size_t r = 0; r < coords.shape(0); ++r) mean += coords(r, c);
    mean /= coords.shape(0);
    for (std::size_t r = 0; r < coords.shape(0); ++r) var += std::pow(coords(r, c) - mean, 2);
    var /= coords.shape(0) - 1;
    EXPECT_NEAR(mean, 0.0, 1e-6);
    EXPECT_NEAR(var, pca.eigenvalues(c), 1e-6 * pca.eigenvalues(c) + 1e-9);
  }
}

TEST(KeyPca, MeanPairwiseCosineMatchesBruteForce) {
  const Matrix keys = keys_with_spectrum({2, 1, 0.5}, 40, 5);
  double sum = 0;
  int pairs = 0;
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = i + 1; j < 40; ++j) {
      double dot = 0, ni = 0, nj = 0;
      for (int c = 0; c < 3; ++c) {
        dot += keys(i, c) * keys(j, c);
        ni += keys(i, c) * keys(i, c);
        nj += keys(j, c) * keys(j, c);
      }
      sum += dot / std::sqrt(ni * nj);
      ++pairs;
    }
  EXPECT_NEAR(mean_pairwise_cosine(keys), sum / pairs, 1e-6);
}

TEST(PcaLayer, KeptSetStatsAndFlags) {
  // One KV head, two query heads, d = 4, T = 40, C = 32. Keys 0..15 lie on
  // one line (rank 1), keys 16..31 are isotropic: keeping the first half must
  // give a much lower effective rank than keeping the second.
  const int H = 2, G = 1, T = 40, C = 32, d = 4;
  Tensor3 q = xt::zeros<float>({H, T, d}), k = xt::zeros<float>({G, T, d});
  std::mt19937 rng(6);
  std::normal_distribution<float> normal;
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < d; ++c) {
      k(0, t, c) = t < 16 ? (c == 0 ? 1.0f + 0.1f * t : 0.0f) : normal(rng);
      for (int h = 0; h < H; ++h) q(h, t, c) = normal(rng);
    }
  std::vector<int> first_half, second_half;
  for (int j = 0; j < 16; ++j) {
    first_half.push_back(j);
    second_half.push_back(16 + j);
  }
  KeptSetProvider keep_first = [&](int, int) { return first_half; };
  KeptSetProvider keep_second = [&](int, int) { return second_half; };
  const auto a = pca_layer(q, k, C, 0.5, 3, &keep_first);
  const auto b = pca_layer(q, k, C, 0.5, 3, &keep_second);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_TRUE(a[0].kept_stats && b[0].kept_stats);
  EXPECT_EQ(a[0].layer, 3);
  EXPECT_NEAR(a[0].kept_stats->effective_rank, 1.0, 1e-3);
  EXPECT_GT(b[0].kept_stats->effective_rank, 2.5);
  EXPECT_NEAR(a[0].kept_stats->mean_pairwise_cosine, 1.0, 1e-6);
  EXPECT_EQ(a[0].coords.shape(0), std::size_t(C));
  EXPECT_EQ(std::count(a[0].kept->begin(), a[0].kept->end(), true), 16);
  EXPECT_TRUE((*a[0].kept)[0]);
  EXPECT_FALSE((*a[0].kept)[16]);

  KeptSetProvider out_of_range = [](int, int) { return std::vector<int>{C}; };
  EXPECT_THROW(pca_layer(q, k, C, 0.5, 0, &out_of_range), std::out_of_range);
  const auto none = pca_layer(q, k, C, 0.5, 0);
  EXPECT_FALSE(none[0].kept.has_value());
}
