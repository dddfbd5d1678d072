// knorm (Devoto et al. 2024, arXiv 2406.11430): score = -||k_j|| (low-norm keys
// attract attention). A local score: block processing keeps the same set as one-shot.
#include <cmath>

#include "policies/policy.hpp"

namespace kvsim {
namespace {
class KnormPolicy : public Policy {
 public:
  void score(const StepContext& ctx, Scores& out) override {
    const int d = ctx.geom.d, T = ctx.geom.T;
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) {
      out[g].resize(ctx.cand[g].size());
      const float* kb = ctx.x.k.data() + g * std::size_t(T) * d;
      for (std::size_t i = 0; i < ctx.cand[g].size(); ++i) {
        const float* k = kb + std::size_t(ctx.cand[g][i]) * d;
        double s = 0;
        for (int c = 0; c < d; ++c) s += double(k[c]) * k[c];
        out[g][i] = -std::sqrt(s);
      }
    }
  }
};
}  // namespace

PolicyInfo knorm_policy_info() {
  return {"knorm", "-||k_j||: keep low-norm keys", {},
          [](const PolicyParams&) { return std::make_unique<KnormPolicy>(); }};
}
}  // namespace kvsim
