#include "policies/kernels/gqa.hpp"

#include <algorithm>
#include <limits>

namespace kvsim {

void reduce_group(const std::vector<std::vector<double>>& per_head, GqaReduce how,
                  std::vector<double>& out) {
  const std::size_t n = per_head.empty() ? 0 : per_head[0].size();
  out.assign(n, how == GqaReduce::max ? -std::numeric_limits<double>::infinity() : 0.0);
  for (const auto& s : per_head) {
    for (std::size_t j = 0; j < n; ++j) {
      if (how == GqaReduce::max)
        out[j] = std::max(out[j], s[j]);
      else
        out[j] += s[j];
    }
  }
  if (how == GqaReduce::mean && !per_head.empty())
    for (auto& v : out) v /= static_cast<double>(per_head.size());
}

}  // namespace kvsim
