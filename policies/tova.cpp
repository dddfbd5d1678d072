// tova (Oren et al. 2024, arXiv 2401.06104): attention of the last processed query,
// averaged over ALL query heads of the layer, so every KV head keeps the same set;
// the last token is protected. (Block mode: one decision per block, not per token.)
#include <algorithm>

#include "policies/policy.hpp"
#include "policies/kernels/group_attention.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/kernels/selection.hpp"

namespace kvsim {
namespace {
class TovaPolicy : public Policy {
 public:
  void score(const StepContext& ctx, Scores& out) override {
    const int G = static_cast<int>(ctx.cand.size()), r = ctx.geom.r;
    const int t = ctx.block_end - 1;
    std::vector<std::vector<double>> acc(G, std::vector<double>(ctx.block_end, 0.0));
    parallel_for(G, [&](int g) {
      const auto& cand = ctx.cand[g];
      const int n = static_cast<int>(cand.size());
      std::vector<float> probs;
      group_attention(ctx.x, ctx.geom, g, t, t + 1, cand, probs);
      for (int hi = 0; hi < r; ++hi)
        for (int j = 0; j < n; ++j) acc[g][cand[j]] += probs[std::size_t(hi) * n + j];
    });
    std::vector<double> total(ctx.block_end, 0.0);
    for (int g = 0; g < G; ++g)
      for (int p = 0; p < ctx.block_end; ++p) total[p] += acc[g][p];
    out.assign(G, {});
    for (int g = 0; g < G; ++g) {
      const auto& cand = ctx.cand[g];
      out[g].resize(cand.size());
      std::vector<int> last;
      for (std::size_t i = 0; i < cand.size(); ++i) {
        out[g][i] = total[cand[i]] / ctx.geom.H;
        if (cand[i] == t) last.push_back(static_cast<int>(i));
      }
      protect_indices(out[g], last);
    }
  }
};
}  // namespace

PolicyInfo tova_policy_info() {
  return {"tova", "attention of the last processed query, mean over all heads; last token protected",
          {},
          [](const PolicyParams&) { return std::make_unique<TovaPolicy>(); }};
}
}  // namespace kvsim
