#pragma once
// The two query-agnostic key scores whose claims the correlation analysis
// tests (DESIGN §3): KeyDiff's distinctiveness and K-norm's negative key norm.
// Higher = "should be kept".
#include <vector>

#include "io/kvdump.hpp"

namespace kvsim::analysis {

// x_j = -cos(k_j, a), a = mean over rows of k_i/|k_i| (zero keys skipped in
// the mean; their cosine is taken as 0). keys: [n, d].
std::vector<double> keydiff_distinctiveness(const Matrix& keys);

// x_j = -|k_j|.
std::vector<double> negative_key_norm(const Matrix& keys);

// Rows [0, n) of head `head` of a [heads, T, d] tensor, copied to [n, d].
Matrix head_rows(const Tensor3& tensor, int head, int n);

}  // namespace kvsim::analysis
