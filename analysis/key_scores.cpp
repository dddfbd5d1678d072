#include "analysis/key_scores.hpp"

#include <cmath>
#include <stdexcept>

#include <xtensor/xview.hpp>

namespace kvsim::analysis {

std::vector<double> keydiff_distinctiveness(const Matrix& keys) {
  const std::size_t n = keys.shape(0), d = keys.shape(1);
  std::vector<double> norms(n, 0.0), anchor(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t c = 0; c < d; ++c) s += double(keys(i, c)) * keys(i, c);
    norms[i] = std::sqrt(s);
    if (norms[i] > 0)
      for (std::size_t c = 0; c < d; ++c) anchor[c] += keys(i, c) / norms[i];
  }
  double anchor_norm = 0;
  for (double& v : anchor) {
    v /= static_cast<double>(n);
    anchor_norm += v * v;
  }
  anchor_norm = std::sqrt(anchor_norm);
  std::vector<double> x(n, 0.0);
  if (anchor_norm <= 0) return x;  // no shared direction: every key equally distinctive
  for (std::size_t i = 0; i < n; ++i) {
    if (norms[i] <= 0) continue;
    double dot = 0;
    for (std::size_t c = 0; c < d; ++c) dot += keys(i, c) * anchor[c];
    x[i] = -dot / (norms[i] * anchor_norm);
  }
  return x;
}

std::vector<double> negative_key_norm(const Matrix& keys) {
  const std::size_t n = keys.shape(0), d = keys.shape(1);
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t c = 0; c < d; ++c) s += double(keys(i, c)) * keys(i, c);
    x[i] = -std::sqrt(s);
  }
  return x;
}

Matrix head_rows(const Tensor3& tensor, int head, int n) {
  if (head < 0 || head >= static_cast<int>(tensor.shape(0)) || n < 0 ||
      n > static_cast<int>(tensor.shape(1)))
    throw std::out_of_range("head_rows: head or row count out of range");
  return xt::view(tensor, head, xt::range(0, n), xt::all());
}

}  // namespace kvsim::analysis
