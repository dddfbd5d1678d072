// snapkv (Li et al. 2024, arXiv 2404.14469; kvpress SnapKVPress semantics):
// the last `window` processed queries attend over the candidates (softmax over
// every candidate <= t, window keys included, causal); the attention to the
// non-window candidates is averaged over the window queries, avg-pooled along
// the candidates in position order (kernel, zero padding counted), reduced over
// the GQA group; window candidates are protected (max+1).
#include <algorithm>

#include "io/errors.hpp"
#include "policies/policy.hpp"
#include "policies/kernels/gqa.hpp"
#include "policies/kernels/group_attention.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/kernels/pooling.hpp"
#include "policies/kernels/selection.hpp"

namespace kvsim {
namespace {
class SnapKVPolicy : public Policy {
 public:
  SnapKVPolicy(int window, int kernel) : window_(window), kernel_(kernel) {}
  void check(const LayerGeom& geom) const override {
    if (window_ > geom.C)
      throw UsageError("snapkv:window=" + std::to_string(window_) + " exceeds the context length " +
                       std::to_string(geom.C));
  }
  // The window's candidates are protected, so with N <= window every kept token
  // comes from the window: one-shot, the kept set is [C-N, C); in block mode
  // too, by induction from the initial fill [0, N) (the window always covers
  // the cache's most recent N plus the block).
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    if (budget > window_ || budget >= geom.C) return {};
    return {{"snapkv_window_covers_budget",
             "the budget is within the observation window (" + std::to_string(window_) +
                 " tokens), whose tokens are all protected: the kept set is the most recent " +
                 std::to_string(budget) +
                 " context tokens (after any --sinks), a recency baseline, not a SnapKV selection"}};
  }
  void score(const StepContext& ctx, Scores& out) override {
    const int e = ctx.block_end, qb = std::max(0, e - window_), nq = e - qb;
    const int r = ctx.geom.r;
    out.assign(ctx.cand.size(), {});
    parallel_for(static_cast<int>(ctx.cand.size()), [&](int g) {
      const auto& cand = ctx.cand[g];
      const int n = static_cast<int>(cand.size());
      const int m = static_cast<int>(std::lower_bound(cand.begin(), cand.end(), qb) - cand.begin());
      std::vector<float> probs;
      group_attention(ctx.x, ctx.geom, g, qb, e, cand, probs);
      std::vector<std::vector<double>> per_head(r);
      for (int hi = 0; hi < r; ++hi) {
        std::vector<double> s(m, 0.0);
        for (int i = 0; i < nq; ++i) {
          const float* row = &probs[(std::size_t(hi) * nq + i) * n];
          for (int j = 0; j < m; ++j) s[j] += row[j];
        }
        for (auto& v : s) v /= nq;
        per_head[hi] = avg_pool_zero_pad(s, kernel_);
      }
      std::vector<double> red;
      reduce_group(per_head, ctx.gqa, red);
      out[g].assign(n, 0.0);
      std::copy(red.begin(), red.end(), out[g].begin());
      std::vector<int> win(n - m);
      for (int j = m; j < n; ++j) win[j - m] = j;
      protect_indices(out[g], win);
    });
  }

 private:
  int window_, kernel_;
};
}  // namespace

PolicyInfo snapkv_policy_info() {
  return {"snapkv", "pooled attention from the last `window` queries; window protected",
          {{"window", "64", "observation window (last processed queries)"},
           {"kernel", "5", "avg-pool kernel (odd)"}},
          [](const PolicyParams& p) {
            const int w = p.get_int("window", 1, 1 << 30);
            const int k = p.get_int("kernel", 1, 1 << 20);
            if (k % 2 == 0)
              throw UsageError("snapkv:kernel=" + std::to_string(k) + ": must be odd");
            return std::make_unique<SnapKVPolicy>(w, k);
          }};
}
}  // namespace kvsim
