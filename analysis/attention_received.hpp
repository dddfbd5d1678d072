#pragma once
// How much attention each context key receives from the future queries under
// full (uncompressed) causal attention — the "y" of the diversity–attention
// analysis and the point size of the PCA scatter (DESIGN §5).
#include "io/kvdump.hpp"

namespace kvsim::analysis {

// y[h, j] = (1/F) * sum_{t in [C, T)} softmax_j(scale * q[h,t] . k[g(h), j])[j]
// for context keys j in [0, C). The softmax at query t runs over every key
// j' <= t (context and earlier future tokens), max-subtracted, accumulated in
// double. q: [H, T, d], k: [G, T, d]; H must be a multiple of G.
// Returns [H, C]. Throws std::invalid_argument when C is not in [1, T).
Matrix attention_received_by_context(const Tensor3& q, const Tensor3& k, int context_len,
                                     double scale);

// Mean over each KV head's query-head group: [H, C] -> [G, C].
Matrix group_mean(const Matrix& per_query_head, int n_kv_heads);

}  // namespace kvsim::analysis
