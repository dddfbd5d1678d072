#include "analysis/key_pca.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

namespace kvsim::analysis {

KeyPca key_pca(const Matrix& keys) {
  const std::size_t n = keys.shape(0), d = keys.shape(1);
  if (n < 2) throw std::invalid_argument("key_pca: need at least 2 keys");
  KeyPca pca;
  pca.n_keys = n;
  DMatrix centered = xt::cast<double>(keys);
  pca.mean = xt::mean(centered, {0});
  centered -= xt::view(pca.mean, xt::newaxis(), xt::all());
  DMatrix covariance = xt::linalg::dot(xt::transpose(centered), centered);
  covariance /= static_cast<double>(n - 1);

  auto [values, vectors] = xt::linalg::eigh(covariance);  // ascending
  pca.eigenvalues = DVector::from_shape({d});
  pca.components = DMatrix::from_shape({d, d});
  for (std::size_t c = 0; c < d; ++c) {
    const std::size_t src = d - 1 - c;  // reorder to descending
    pca.eigenvalues(c) = std::max(0.0, values(src));
    std::size_t argmax = 0;
    for (std::size_t i = 1; i < d; ++i)
      if (std::abs(vectors(i, src)) > std::abs(vectors(argmax, src))) argmax = i;
    const double sign = vectors(argmax, src) < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < d; ++i) pca.components(i, c) = sign * vectors(i, src);
  }
  return pca;
}

DVector KeyPca::explained_ratio() const {
  const double total = xt::sum(eigenvalues)();
  if (total <= 0) return xt::zeros<double>(eigenvalues.shape());
  return eigenvalues / total;
}

double KeyPca::effective_rank() const { return analysis::effective_rank(eigenvalues); }

DMatrix KeyPca::project_top2(const Matrix& keys) const {
  const std::size_t n = keys.shape(0), d = keys.shape(1);
  if (d != mean.size()) throw std::invalid_argument("project_top2: key dimension mismatch");
  if (d < 2) throw std::invalid_argument("project_top2: need head_dim >= 2");
  DMatrix centered = xt::cast<double>(keys);
  centered -= xt::view(mean, xt::newaxis(), xt::all());
  DMatrix top2 = xt::view(components, xt::all(), xt::range(0, 2));
  DMatrix coords = xt::linalg::dot(centered, top2);
  (void)n;
  return coords;
}

double effective_rank(const DVector& spectrum) {
  double total = 0;
  for (double v : spectrum) total += std::max(0.0, v);
  if (total <= 0) return std::numeric_limits<double>::quiet_NaN();
  double entropy = 0;
  for (double v : spectrum) {
    const double p = std::max(0.0, v) / total;
    if (p > 0) entropy -= p * std::log(p);
  }
  return std::exp(entropy);
}

double mean_pairwise_cosine(const Matrix& keys) {
  const std::size_t n = keys.shape(0), d = keys.shape(1);
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  // sum_{i<j} cos = (|sum_i u_i|^2 - sum_i |u_i|^2) / 2 with unit rows u_i:
  // O(n d) instead of O(n^2 d). Zero keys contribute a zero vector.
  std::vector<double> sum(d, 0.0);
  double self = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double norm2 = 0;
    for (std::size_t c = 0; c < d; ++c) norm2 += double(keys(i, c)) * keys(i, c);
    if (norm2 <= 0) continue;
    const double inv = 1.0 / std::sqrt(norm2);
    for (std::size_t c = 0; c < d; ++c) sum[c] += keys(i, c) * inv;
    self += 1.0;
  }
  double sum2 = 0;
  for (double v : sum) sum2 += v * v;
  const double pairs = 0.5 * double(n) * double(n - 1);
  return 0.5 * (sum2 - self) / pairs;
}

Matrix select_rows(const Matrix& keys, const std::vector<int>& positions) {
  const std::size_t n = keys.shape(0), d = keys.shape(1);
  Matrix out = Matrix::from_shape({positions.size(), d});
  for (std::size_t r = 0; r < positions.size(); ++r) {
    const int p = positions[r];
    if (p < 0 || static_cast<std::size_t>(p) >= n)
      throw std::out_of_range("select_rows: position " + std::to_string(p) + " outside [0, " +
                              std::to_string(n) + ")");
    for (std::size_t c = 0; c < d; ++c) out(r, c) = keys(p, c);
  }
  return out;
}

}  // namespace kvsim::analysis
