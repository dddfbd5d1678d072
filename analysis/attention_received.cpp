#include "analysis/attention_received.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace kvsim::analysis {

namespace {

// Future queries are processed in row blocks so the score matrix stays
// bounded (rows x T floats) even for long generated answers.
constexpr int kQueryRowsPerBlock = 256;

}  // namespace

Matrix attention_received_by_context(const Tensor3& q, const Tensor3& k, int context_len,
                                     double scale) {
  const int H = static_cast<int>(q.shape(0)), T = static_cast<int>(q.shape(1)),
            d = static_cast<int>(q.shape(2));
  const int G = static_cast<int>(k.shape(0));
  if (G < 1 || H % G != 0)
    throw std::invalid_argument("attention_received: n_heads is not a multiple of n_kv_heads");
  if (static_cast<int>(k.shape(1)) != T || static_cast<int>(k.shape(2)) != d)
    throw std::invalid_argument("attention_received: q and k shapes disagree");
  const int C = context_len;
  if (C < 1 || C >= T)
    throw std::invalid_argument("attention_received: context_len " + std::to_string(C) +
                                " leaves no context or no future query (T = " +
                                std::to_string(T) + ")");
  const int F = T - C, group = H / G;

  Matrix received({static_cast<std::size_t>(H), static_cast<std::size_t>(C)});
#pragma omp parallel for schedule(dynamic, 1)
  for (int h = 0; h < H; ++h) {
    const float* qh = q.data() + (static_cast<std::size_t>(h) * T + C) * d;  // rows [C, T)
    const float* kg = k.data() + static_cast<std::size_t>(h / group) * T * d;
    std::vector<float> scores(static_cast<std::size_t>(kQueryRowsPerBlock) * T);
    std::vector<double> sum(C, 0.0);
    for (int r0 = 0; r0 < F; r0 += kQueryRowsPerBlock) {
      const int rows = std::min(kQueryRowsPerBlock, F - r0);
      // Only keys [0, C + r0 + rows) can be seen by this block's queries.
      const int keys = C + r0 + rows;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys, d,
                  static_cast<float>(scale), qh + static_cast<std::size_t>(r0) * d, d, kg, d, 0.0f,
                  scores.data(), keys);
      for (int i = 0; i < rows; ++i) {
        const int t = C + r0 + i;  // query position; sees keys [0, t]
        const float* row = scores.data() + static_cast<std::size_t>(i) * keys;
        float max_score = -std::numeric_limits<float>::infinity();
        for (int j = 0; j <= t; ++j) max_score = std::max(max_score, row[j]);
        double z = 0;
        for (int j = 0; j <= t; ++j) z += std::exp(static_cast<double>(row[j]) - max_score);
        for (int j = 0; j < C; ++j) sum[j] += std::exp(static_cast<double>(row[j]) - max_score) / z;
      }
    }
    for (int j = 0; j < C; ++j) received(h, j) = static_cast<float>(sum[j] / F);
  }
  return received;
}

Matrix group_mean(const Matrix& per_query_head, int n_kv_heads) {
  const std::size_t H = per_query_head.shape(0), C = per_query_head.shape(1);
  if (n_kv_heads < 1 || H % n_kv_heads != 0)
    throw std::invalid_argument("group_mean: n_heads is not a multiple of n_kv_heads");
  const std::size_t group = H / n_kv_heads;
  Matrix out = xt::zeros<float>({static_cast<std::size_t>(n_kv_heads), C});
  for (std::size_t h = 0; h < H; ++h)
    for (std::size_t j = 0; j < C; ++j) out(h / group, j) += per_query_head(h, j) / group;
  return out;
}

}  // namespace kvsim::analysis
