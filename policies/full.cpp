// full: keeps the whole context (reference; M1 = 1, M4 = M5 = 0).
#include "policies/policy.hpp"

namespace kvsim {
namespace {
class FullPolicy : public Policy {
 public:
  bool keep_all() const override { return true; }
  void score(const StepContext& ctx, Scores& out) override {
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) out[g].assign(ctx.cand[g].size(), 0.0);
  }
};
}  // namespace

PolicyInfo full_policy_info() {
  return {"full", "keep everything (reference)", {},
          [](const PolicyParams&) { return std::make_unique<FullPolicy>(); }};
}
}  // namespace kvsim
