// random: uniform score per (layer, KV head, token) from a counter-based hash of
// --seed, so results do not depend on thread count or processing order.
#include "policies/policy.hpp"
#include "policies/kernels/hash_uniform.hpp"

namespace kvsim {
namespace {
class RandomPolicy : public Policy {
 public:
  void score(const StepContext& ctx, Scores& out) override {
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) {
      out[g].resize(ctx.cand[g].size());
      for (std::size_t i = 0; i < ctx.cand[g].size(); ++i)
        out[g][i] = hash_uniform(ctx.seed, ctx.layer, g, ctx.cand[g][i]);
    }
  }
};
}  // namespace

PolicyInfo random_policy_info() {
  return {"random", "uniform random score per (KV head, token), seeded by --seed", {},
          [](const PolicyParams&) { return std::make_unique<RandomPolicy>(); }};
}
}  // namespace kvsim
