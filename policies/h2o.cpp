// h2o (Zhang et al. 2023, arXiv 2306.14048), normalised "heavy hitter" score:
// attention a token has received divided by the number of processed queries that
// saw it, counted since it entered the cache (the initial fill [0, N) included);
// each block's queries attend over the candidates (causal). Per query head,
// reduced over the GQA group. Stateful across blocks (per-layer state).
#include <algorithm>

#include "policies/policy.hpp"
#include "policies/kernels/gqa.hpp"
#include "policies/kernels/group_attention.hpp"
#include "policies/kernels/parallel_for.hpp"

namespace kvsim {
namespace {
constexpr int kQueryChunk = 64;

class H2OPolicy : public Policy {
 public:
  bool observes_fill() const override { return true; }
  void begin_layer(const StepContext& ctx) override {
    acc_.assign(ctx.geom.H, std::vector<double>(ctx.geom.C, 0.0));
    cnt_.assign(ctx.geom.G, std::vector<double>(ctx.geom.C, 0.0));
  }
  void score(const StepContext& ctx, Scores& out) override {
    const int r = ctx.geom.r, bb = ctx.block_begin, e = ctx.block_end;
    out.assign(ctx.cand.size(), {});
    parallel_for(static_cast<int>(ctx.cand.size()), [&](int g) {
      const auto& cand = ctx.cand[g];
      const int n = static_cast<int>(cand.size());
      thread_local std::vector<float> probs;  // reused: a multi-MB buffer per call costs page faults
      thread_local std::vector<double> colsum;
      thread_local std::vector<float> inv_sum;
      thread_local std::vector<int> visible;
      for (int q0 = bb; q0 < e; q0 += kQueryChunk) {
        const int q1 = std::min(e, q0 + kQueryChunk), nq = q1 - q0;
        // causal: these queries see only candidates <= q1-1
        const int nvis = static_cast<int>(std::upper_bound(cand.begin(), cand.end(), q1 - 1) - cand.begin());
        // exp(logit - max) per row; the softmax's 1/sum is applied (as a
        // float, the same product softmax_row forms) while summing columns
        group_attention_exp(ctx.x, ctx.geom, g, q0, q1, cand.data(), nvis, probs, inv_sum, visible);
        // column sums of the chunk, contiguous (vectorised), then one
        // indirect add per candidate
        colsum.resize(nvis);
        for (int hi = 0; hi < r; ++hi) {
          std::fill(colsum.begin(), colsum.end(), 0.0);
          for (int i = 0; i < nq; ++i) {
            const std::size_t row_index = std::size_t(hi) * nq + i;
            const float* row = &probs[row_index * nvis];
            const float inv = inv_sum[row_index];
            const int vis = visible[row_index];
            for (int j = 0; j < vis; ++j) colsum[j] += row[j] * inv;
          }
          auto& acc = acc_[g * r + hi];
          for (int j = 0; j < nvis; ++j) acc[cand[j]] += colsum[j];
        }
      }
      for (int j = 0; j < n; ++j) cnt_[g][cand[j]] += e - std::max(cand[j], bb);
      std::vector<std::vector<double>> per_head(r, std::vector<double>(n));
      for (int hi = 0; hi < r; ++hi)
        for (int j = 0; j < n; ++j) per_head[hi][j] = acc_[g * r + hi][cand[j]] / cnt_[g][cand[j]];
      reduce_group(per_head, ctx.gqa, out[g]);
    });
  }

 private:
  std::vector<std::vector<double>> acc_;  // [H][C] attention received
  std::vector<std::vector<double>> cnt_;  // [G][C] queries that saw the token
};
}  // namespace

PolicyInfo h2o_policy_info() {
  return {"h2o", "mean attention received from the processed queries that saw the token", {},
          [](const PolicyParams&) { return std::make_unique<H2OPolicy>(); }};
}
}  // namespace kvsim
