#pragma once
// Causal attention of one KV group's query heads over gathered candidate keys:
// the group's r query heads are stacked into one GEMM against the shared keys.
#include <vector>

#include "io/layer_geometry.hpp"

namespace kvsim {

// Attention of the query heads of KV head g at query positions [q_begin, q_end)
// over candidate keys `cand` (sorted positions) of KV head g, causal by position
// (a query at t sees candidates with position <= t). probs is resized to
// [r * nq][n_cand], rows head-major (row = hi * nq + (t - q_begin)).
void group_attention(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int q_end,
                     const int* cand, int n_cand, std::vector<float>& probs);
// The same logits, exponentiated but not normalised (exp_row): row i of
// head hi holds exp(logit - max) over its visible candidates and garbage
// after them; inv_sum[row] = 1 / sum as a float, visible[row] = how many
// candidates that row sees. For a caller that reads each row once (h2o's
// column sums) and can fold the scaling into that read.
void group_attention_exp(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin, int q_end,
                         const int* cand, int n_cand, std::vector<float>& exps, std::vector<float>& inv_sum,
                         std::vector<int>& visible);
inline void group_attention(const LayerTensors& x, const LayerGeom& geom, int g, int q_begin,
                            int q_end, const std::vector<int>& cand, std::vector<float>& probs) {
  group_attention(x, geom, g, q_begin, q_end, cand.data(), static_cast<int>(cand.size()), probs);
}

}  // namespace kvsim
