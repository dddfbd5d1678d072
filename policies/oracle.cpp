// oracle: score = sum over the FUTURE queries of full attention A[t, j], mean over
// the KV group's query heads. Top-N of it maximises the group-mean attention-mass
// recall (M1) at a per-head budget. The only policy that reads future queries.
#include "policies/policy.hpp"
#include "policies/kernels/future_attention.hpp"
#include "io/errors.hpp"

namespace kvsim {
namespace {
class OraclePolicy : public Policy {
 public:
  void score(const StepContext& ctx, Scores& out) override {
    if (!ctx.shared.future) throw InputError("oracle: future attention not available");
    const auto& fa = *ctx.shared.future;
    const int C = ctx.geom.C;
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) {
      out[g].resize(ctx.cand[g].size());
      for (std::size_t i = 0; i < ctx.cand[g].size(); ++i)
        out[g][i] = fa.oracle_score[g * std::size_t(C) + ctx.cand[g][i]];
    }
  }
};
}  // namespace

PolicyInfo oracle_policy_info() {
  return {"oracle", "sum of future-query attention (upper bound of mean M1; sees the future)", {},
          [](const PolicyParams&) { return std::make_unique<OraclePolicy>(); }};
}
}  // namespace kvsim
