// keydiff (Park et al. 2025, arXiv 2504.15364): score = -cos(k_j, a) with the
// anchor a = mean over the candidates of k_i/||k_i|| (post-RoPE keys); keeps
// the keys least similar to the rest. Recomputed on the candidates at every block.
#include <cmath>

#include "policies/policy.hpp"
#include "policies/kernels/parallel_for.hpp"

namespace kvsim {
namespace {
class KeyDiffPolicy : public Policy {
 public:
  void score(const StepContext& ctx, Scores& out) override {
    const int d = ctx.geom.d, T = ctx.geom.T;
    out.assign(ctx.cand.size(), {});
    parallel_for(static_cast<int>(ctx.cand.size()), [&](int g) {
      const auto& cand = ctx.cand[g];
      const std::size_t n = cand.size();
      const float* kb = ctx.x.k.data() + std::size_t(g) * T * d;
      std::vector<double> khat(n * d), a(d, 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        const float* k = kb + std::size_t(cand[i]) * d;
        double nn = 0;
        for (int c = 0; c < d; ++c) nn += double(k[c]) * k[c];
        const double inv = nn > 0 ? 1.0 / std::sqrt(nn) : 0.0;  // zero key: k/||k|| := 0
        for (int c = 0; c < d; ++c) {
          khat[i * d + c] = k[c] * inv;
          a[c] += khat[i * d + c];
        }
      }
      double an = 0;
      for (int c = 0; c < d; ++c) {
        a[c] /= double(n);
        an += a[c] * a[c];
      }
      const double ainv = an > 0 ? 1.0 / std::sqrt(an) : 1.0;
      out[g].resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        double dot = 0;
        for (int c = 0; c < d; ++c) dot += khat[i * d + c] * a[c];
        out[g][i] = -dot * ainv;
      }
    });
  }
};
}  // namespace

PolicyInfo keydiff_policy_info() {
  return {"keydiff",
          "-cos(k_j, mean normalised candidate key): keep diverse keys (block B=--block)",
          {},
          [](const PolicyParams&) { return std::make_unique<KeyDiffPolicy>(); }};
}
}  // namespace kvsim
