// laprox — OUR approximate-matrix-multiplication formulation of LaProx
// (arXiv 2605.07234; the paper's exact formula is not public). The layer output
// over the observation queries is Y = sum_h A_h (V_g(h) W_o^h), a sum of
// column-row pairs (h, j). Importance of cache entry (g, j):
//   iota_{g,j}^2 = sum_{h,h' in g} <A_h[:,j], A_h'[:,j]> * v_j^T M_{hh'} v_j,
//   M_{hh'} = W_o^h^T W_o^h'  (d x d, computed once per layer from o_proj).
// Scores are in output units: the top G*N entries of the layer are kept, each
// KV head keeping at least floor(0.2 N). mode=model (one-shot): scores divided by
// ||Y_l||_F, top L*G*N over all layers.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/errors.hpp"
#include "policies/policy.hpp"
#include "policies/kernels/blas.hpp"
#include "policies/kernels/group_attention.hpp"
#include "policies/kernels/parallel_for.hpp"

namespace kvsim {
namespace {
// q[g][(a*r+b)*C + j] = v_j^T M_{ab} v_j for a <= b, context tokens j.
struct LaproxGram {
  std::vector<std::vector<float>> q;
};

class LaproxPolicy : public Policy {
 public:
  LaproxPolicy(int window, bool model) : window_(window), model_(model) {}
  Pooling pooling() const override { return model_ ? Pooling::model : Pooling::per_layer; }
  bool needs_o_proj() const override { return true; }
  void check(const LayerGeom& geom) const override {
    if (window_ > geom.C)
      throw UsageError("laprox:window=" + std::to_string(window_) + " exceeds the context length " +
                       std::to_string(geom.C));
  }
  void prepare_layer(const LayerTensors& x, const LayerGeom& geom, LayerShared& shared) const override {
    if (shared.get<LaproxGram>()) return;
    if (!x.o_proj)
      throw InputError("laprox needs the output projection o_proj, which this dump lacks "
                       "(/layers/<l>/o_proj); use another policy or a dump captured with o_proj");
    const int G = geom.G, r = geom.r, d = geom.d, C = geom.C, T = geom.T, D = geom.D;
    const int Hd = geom.H * d, rd = r * d;
    LaproxGram& gram = shared.emplace(LaproxGram{});
    gram.q.assign(G, std::vector<float>(std::size_t(r) * r * C, 0.f));
    const float* Wo = x.o_proj->data();
    parallel_for(G, [&](int g) {
      // M = W_g^T W_g  (rd x rd), W_g = columns [g*r*d, (g+1)*r*d) of o_proj [D, H*d]
      std::vector<float> M(std::size_t(rd) * rd);
      sgemm_tn(rd, rd, D, Wo + std::size_t(g) * rd, Hd, Wo + std::size_t(g) * rd, Hd, M.data(), rd);
      const float* V = x.v.data() + std::size_t(g) * T * d;
      std::vector<float> X(std::size_t(C) * d);
      for (int a = 0; a < r; ++a)
        for (int b = a; b < r; ++b) {
          // X = V[0:C] * M_ab ; q_ab[j] = <X_j, v_j>
          sgemm_nn(C, d, d, V, d, M.data() + std::size_t(a) * d * rd + std::size_t(b) * d, rd,
                   X.data(), d);
          float* q = gram.q[g].data() + std::size_t(a * r + b) * C;
          for (int j = 0; j < C; ++j) {
            double s = 0;
            for (int c = 0; c < d; ++c) s += double(X[std::size_t(j) * d + c]) * V[std::size_t(j) * d + c];
            q[j] = static_cast<float>(s);
          }
        }
    });
  }
  void score(const StepContext& ctx, Scores& out) override {
    const auto* gram = ctx.shared.get<LaproxGram>();
    if (!gram) throw InputError("laprox: layer not prepared (missing o_proj?)");
    const int e = ctx.block_end, qb = std::max(0, e - window_), nq = e - qb;
    const int r = ctx.geom.r, d = ctx.geom.d, C = ctx.geom.C, T = ctx.geom.T;
    const int Hd = ctx.geom.H * d;
    out.assign(ctx.cand.size(), {});
    std::vector<float> O;
    if (model_) O.assign(std::size_t(nq) * Hd, 0.f);
    parallel_for(static_cast<int>(ctx.cand.size()), [&](int g) {
      const auto& cand = ctx.cand[g];
      const int n = static_cast<int>(cand.size());
      std::vector<float> probs;
      group_attention(ctx.x, ctx.geom, g, qb, e, cand, probs);
      out[g].assign(n, 0.0);
      const float* qg = gram->q[g].data();
      // iota^2_j = sum_{a<=b} (2 - [a==b]) <A_a[:,j], A_b[:,j]> q_ab(j); the inner
      // products are accumulated row by row (contiguous in j).
      std::vector<double> iota2(n, 0.0), ip(n);
      for (int a = 0; a < r; ++a)
        for (int b = a; b < r; ++b) {
          std::fill(ip.begin(), ip.end(), 0.0);
          for (int i = 0; i < nq; ++i) {
            const float* pa = &probs[(std::size_t(a) * nq + i) * n];
            const float* pb = &probs[(std::size_t(b) * nq + i) * n];
            for (int j = 0; j < n; ++j) ip[j] += double(pa[j]) * pb[j];
          }
          const float* q = qg + std::size_t(a * r + b) * C;
          const double f = a == b ? 1.0 : 2.0;
          for (int j = 0; j < n; ++j) iota2[j] += f * ip[j] * q[cand[j]];
        }
      for (int j = 0; j < n; ++j) out[g][j] = std::sqrt(std::max(0.0, iota2[j]));
      if (model_) {
        std::vector<float> Vc(std::size_t(n) * d);
        const float* V = ctx.x.v.data() + std::size_t(g) * T * d;
        for (int j = 0; j < n; ++j)
          std::memcpy(&Vc[std::size_t(j) * d], V + std::size_t(cand[j]) * d, sizeof(float) * d);
        for (int a = 0; a < r; ++a)
          sgemm_nn(nq, d, n, &probs[std::size_t(a) * nq * n], n, Vc.data(), d,
                   O.data() + std::size_t(g * r + a) * d, Hd);
      }
    });
    if (model_) {
      const int D = ctx.geom.D;
      std::vector<float> Y(std::size_t(nq) * D);
      sgemm_nt(nq, D, Hd, O.data(), Hd, ctx.x.o_proj->data(), Hd, Y.data(), D);
      double s = 0;
      for (float y : Y) s += double(y) * y;
      norm_ = std::sqrt(s);
    }
  }
  double layer_normalizer() const override { return norm_ > 0 ? norm_ : 1.0; }

 private:
  int window_;
  bool model_;
  double norm_ = 1.0;
};
}  // namespace

PolicyInfo laprox_policy_info() {
  return {"laprox",
          "output-aware ||A[:,j] (x) v_j W_o|| (our AMM formulation of LaProx); needs o_proj",
          {{"window", "64", "observation window (last processed queries)"},
           {"mode", "layer", "layer: top G*N per layer; model: one-shot top L*G*N over the model"}},
          [](const PolicyParams& p) {
            const int w = p.get_int("window", 1, 1 << 30);
            const std::string& mode = p.get("mode");
            if (mode != "layer" && mode != "model")
              throw UsageError("laprox:mode=" + mode + ": expected layer or model");
            return std::make_unique<LaproxPolicy>(w, mode == "model");
          }};
}
}  // namespace kvsim
