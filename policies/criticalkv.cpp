// criticalkv — CriticalKV's two-stage, output-aware selection around any
// scorer (Feng et al., "Identify Critical KV Cache in LLM Inference from an
// Output Perturbation Perspective", arXiv 2502.03805; kvpress CriticalKVPress,
// kvpress/presses/criticalkv_press.py, `score` and `vwl1norm`):
//   stage 1: the inner policy's best int(N * first_stage_ratio) candidates of
//            each KV head are kept outright;
//   stage 2: every other candidate scores (s_j + epsilon) * u_j, with
//            u_j = mean over the KV head's query heads h of ||W_o^h v_j||_1,
//            W_o^h the d columns of o_proj that head h writes through.
// kvpress marks the stage-1 tokens with the largest float; here they score
// above every stage-2 score of their head (the same kept set when they fit
// in N, which int(N * ratio) <= N guarantees).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "policies/allocator.hpp"
#include "policies/kernels/blas.hpp"

namespace kvsim {
namespace {

// u[g][j] for context tokens j < C: computed once per layer, shared by every
// criticalkv item of a sweep.
struct ValueOutputL1 {
  std::vector<std::vector<double>> u;
};

class CriticalKvPolicy : public AllocatorPolicy {
 public:
  CriticalKvPolicy(std::unique_ptr<Policy> inner, double epsilon, double first_stage_ratio)
      : AllocatorPolicy("criticalkv", std::move(inner)), epsilon_(epsilon), first_stage_ratio_(first_stage_ratio) {}
  bool needs_o_proj() const override { return true; }
  void prepare_layer(const LayerTensors& x, const LayerGeom& geom, LayerShared& shared) const override {
    AllocatorPolicy::prepare_layer(x, geom, shared);
    if (shared.get<ValueOutputL1>()) return;
    if (!x.o_proj)
      throw InputError("criticalkv needs the output projection o_proj, which this dump lacks "
                       "(/layers/<l>/o_proj); use another policy or a dump captured with o_proj");
    const int C = geom.C, d = geom.d, D = geom.D, H = geom.H, T = geom.T;
    ValueOutputL1& out = shared.emplace(ValueOutputL1{});
    out.u.assign(geom.G, std::vector<double>(C, 0.0));
    constexpr int kRows = 512;  // rows of W_o^h v per product: bounds the scratch to kRows x D
    std::vector<float> y(std::size_t(kRows) * D);
    for (int h = 0; h < H; ++h) {
      const int g = geom.kv_of(h);
      const float* V = x.v.data() + std::size_t(g) * T * d;
      const float* Wh = x.o_proj->data() + std::size_t(h) * d;  // D x d block, row stride H*d
      for (int j0 = 0; j0 < C; j0 += kRows) {
        const int rows = std::min(kRows, C - j0);
        sgemm_nt_thread_invariant(rows, D, d, V + std::size_t(j0) * d, d, Wh, H * d, y.data(), D);
        for (int j = 0; j < rows; ++j) {
          double l1 = 0;
          for (int i = 0; i < D; ++i) l1 += std::fabs(double(y[std::size_t(j) * D + i]));
          out.u[g][j0 + j] += l1 / geom.r;
        }
      }
    }
  }
  void score(const StepContext& ctx, Scores& out) override {
    AllocatorPolicy::score(ctx, out);
    const auto& u = ctx.shared.get<ValueOutputL1>()->u;
    const int first = static_cast<int>(ctx.budget * first_stage_ratio_);
    for (std::size_t g = 0; g < out.size(); ++g) {
      std::vector<double>& s = out[g];
      // stage 1: the inner policy's best `first` (ties: the later position, as the engine's selection)
      std::vector<int> order(s.size());
      std::iota(order.begin(), order.end(), 0);
      const int n1 = std::min<int>(first, static_cast<int>(s.size()));
      std::partial_sort(order.begin(), order.begin() + n1, order.end(),
                        [&](int a, int b) { return s[a] != s[b] ? s[a] > s[b] : ctx.cand[g][a] > ctx.cand[g][b]; });
      double top = -INFINITY;
      for (std::size_t i = 0; i < s.size(); ++i) {
        s[i] = (s[i] + epsilon_) * u[g][ctx.cand[g][i]];
        top = std::max(top, s[i]);
      }
      const double above = top + std::max(1.0, std::fabs(top));
      for (int k = 0; k < n1; ++k) s[order[k]] = above;
    }
  }

 private:
  double epsilon_, first_stage_ratio_;
};

}  // namespace

PolicyInfo criticalkv_policy_info() {
  return wrapper_info("criticalkv",
                      "two-stage, output-aware: the inner scorer's best first_stage_ratio*N kept, the rest by "
                      "(score + epsilon) * mean_h ||W_o^h v_j||_1; wraps any scorer: criticalkv(snapkv); needs o_proj",
                      {{"epsilon", "0.0001", "added to the inner score before the output-norm rescaling"},
                       {"first_stage_ratio", "0.5", "fraction of N chosen by the inner scorer alone, in [0, 1]"}},
                      {"snapkv"},
                      [](const PolicyParams& p, std::unique_ptr<Policy> inner) -> std::unique_ptr<Policy> {
                        return std::make_unique<CriticalKvPolicy>(std::move(inner), p.get_double("epsilon", 0.0, 1e30),
                                                                  p.get_double("first_stage_ratio", 0.0, 1.0));
                      });
}

}  // namespace kvsim
