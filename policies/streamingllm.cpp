// streamingllm (Xiao et al. 2023, arXiv 2309.17453): keep the first n_sink
// tokens (attention sinks) and the most recent ones. Score = position; sinks
// score above every position (earlier sinks higher).
#include "policies/policy.hpp"

namespace kvsim {
namespace {
class StreamingPolicy : public Policy {
 public:
  explicit StreamingPolicy(int n_sink) : n_sink_(n_sink) {}
  void score(const StepContext& ctx, Scores& out) override {
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) {
      out[g].resize(ctx.cand[g].size());
      for (std::size_t i = 0; i < ctx.cand[g].size(); ++i) {
        const int p = ctx.cand[g][i];
        // sinks above every position, earlier sinks first (budget < n_sink keeps the first N)
        out[g][i] = p < n_sink_ ? double(ctx.geom.T) + 1.0 + double(n_sink_ - p) : double(p);
      }
    }
  }

 private:
  int n_sink_;
};
}  // namespace

PolicyInfo streamingllm_policy_info() {
  return {"streamingllm", "keep the first n_sink tokens and the most recent ones",
          {{"n_sink", "4", "attention-sink tokens kept at the start"}},
          [](const PolicyParams& p) {
            return std::make_unique<StreamingPolicy>(p.get_int("n_sink", 0, 1 << 30));
          }};
}
}  // namespace kvsim
