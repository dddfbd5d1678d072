#pragma once
// GQA: how the per-query-head scores of a group become one score per KV head.
#include <vector>

namespace kvsim {

enum class GqaReduce { mean, max };

// Reduce per-query-head scores [r][n] of one group to the KV head (mean or max).
void reduce_group(const std::vector<std::vector<double>>& per_head, GqaReduce how,
                  std::vector<double>& out);

}  // namespace kvsim
