// adakv — AdaKV's head-adaptive budgets (Feng et al., "Ada-KV: Optimizing KV
// Cache Eviction by Adaptive Budget Allocation for Efficient LLM Inference",
// arXiv 2407.11550; kvpress AdaKVPress, kvpress/presses/adakv_press.py).
// Around any scorer: each KV head first keeps its best
// floor(alpha_safeguard * N) tokens (the safeguard), then the rest of the
// layer's G*N is the top of the remaining scores pooled over the layer's KV
// heads (kvpress marks the safeguard tokens with the largest float and
// prunes the bottom G*(C-N) over all heads: the same kept set).
#include "policies/allocator.hpp"

namespace kvsim {
namespace {

class AdaKvPolicy : public AllocatorPolicy {
 public:
  AdaKvPolicy(std::unique_ptr<Policy> inner, double alpha) : AllocatorPolicy("adakv", std::move(inner)), alpha_(alpha) {
    if (AllocatorPolicy::selects_itself())
      throw UsageError("adakv: the inner policy chooses its kept set itself (chunkkv keeps whole chunks shared by "
                       "every KV head); there is nothing for adakv to pool");
  }
  Pooling pooling() const override { return Pooling::per_layer; }
  // int(n_kept * alpha_safeguard), as kvpress computes it
  int pooled_floor(int budget) const override { return static_cast<int>(budget * alpha_); }

 private:
  double alpha_;
};

}  // namespace

PolicyInfo adakv_policy_info() {
  return wrapper_info("adakv",
                      "allocator: head-adaptive budgets within a layer (top G*N of the layer's scores), each KV head "
                      "keeping at least floor(alpha_safeguard*N); wraps any scorer: adakv(snapkv)",
                      {{"alpha_safeguard", "0.2", "fraction of N each KV head keeps of its own best, in [0, 1]"}},
                      {"snapkv"},
                      [](const PolicyParams& p, std::unique_ptr<Policy> inner) -> std::unique_ptr<Policy> {
                        return std::make_unique<AdaKvPolicy>(std::move(inner), p.get_double("alpha_safeguard", 0.0, 1.0));
                      });
}

}  // namespace kvsim
