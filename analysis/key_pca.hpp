#pragma once
// Principal components of a set of keys (DESIGN §5 "PCA key diversity"):
// how many directions the keys of one KV head really spread over, and where
// each key sits in the plane of the two leading components.
#include <vector>

#include <xtensor/xtensor.hpp>

#include "io/kvdump.hpp"

namespace kvsim::analysis {

using DMatrix = xt::xtensor<double, 2>;
using DVector = xt::xtensor<double, 1>;

struct KeyPca {
  DVector mean;         // [d]
  DVector eigenvalues;  // [d], descending, negatives from round-off clamped to 0
  DMatrix components;   // [d, d], column c = unit eigenvector of eigenvalues[c]
  std::size_t n_keys = 0;

  DVector explained_ratio() const;  // eigenvalues / sum
  double effective_rank() const;    // exp(H(eigenvalues / sum))
  // Coordinates of (key - mean) on components 0 and 1: [n, 2].
  DMatrix project_top2(const Matrix& keys) const;
};

// keys: [n, d] (one KV head's keys, row per token), n >= 2. Covariance with the
// 1/(n-1) normaliser, accumulated in double, eigendecomposed by
// xt::linalg::eigh (LAPACK syevd). Eigenvector signs are fixed so that the
// largest-magnitude entry is positive, making coordinates reproducible.
KeyPca key_pca(const Matrix& keys);

// exp of the Shannon entropy (nats) of spectrum / sum(spectrum): d for an
// isotropic spectrum, 1 when one direction holds all the variance.
double effective_rank(const DVector& spectrum);

// Mean of cos(k_i, k_j) over unordered pairs i < j; NaN for n < 2.
double mean_pairwise_cosine(const Matrix& keys);

// Rows of `keys` at `positions` (each must be in [0, n)).
Matrix select_rows(const Matrix& keys, const std::vector<int>& positions);

}  // namespace kvsim::analysis
