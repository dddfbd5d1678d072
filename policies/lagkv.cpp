// lagkv (LagKV, arXiv 2504.04704; kvpress LagKVPress, lagkv_press.py): query-free.
// The candidates (position order) after the first n_sink are cut into
// partitions of lag_size; a token is scored against the NEXT partition (its
// "lag" reference): per channel, min-max normalised by the reference's range,
// then the standard deviation over channels, softmax within the partition; keys
// and values averaged. Without cross_scoring the score is the token's rank in
// its partition / lag_size (comparable across partitions). Sinks and the last
// partition (with the remainder) score 1. Too few candidates
// (< n_sink + 2 lag_size): sinks 1, the rest rising with their index (recency).
// A reference channel with max = min counts as 0 (kvpress: 0/0 = nan).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "policies/policy.hpp"

namespace kvsim {
namespace {
class LagKVPolicy : public Policy {
 public:
  LagKVPolicy(int n_sink, int lag, bool cross_scoring) : n_sink_(n_sink), lag_(lag), cross_(cross_scoring) {}

  // A step with fewer than n_sink + 2 lag_size candidates (N + the block's
  // length in block mode, C one-shot) scores by position; and the sinks and the tail partition
  // (>= lag_size tokens) all score the top score, so with N <= n_sink +
  // lag_size only they are kept (ties keep the later token). Either way the
  // kept set is the most recent tokens plus at most n_sink older ones (the
  // first candidates of a step, which in block mode need not be [0, n_sink)).
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    if (budget >= geom.C) return {};
    // In block mode the last step (whose block may be short) makes the final choice.
    const int rest = geom.C - budget, last_block = block > 0 ? (rest % block == 0 ? block : rest % block) : 0;
    const long candidates = block > 0 ? long(budget) + last_block : geom.C;
    const std::string recency = "the kept set is the most recent tokens and at most the " + std::to_string(n_sink_) +
                                " oldest candidates of a step (its sinks), a recency baseline, not a LagKV selection";
    if (candidates < long(n_sink_) + 2L * lag_)
      return {{"lagkv_too_few_candidates", "the final step scores " + std::to_string(candidates) +
                                               " candidates, fewer than n_sink + 2 lag_size = " +
                                               std::to_string(n_sink_ + 2 * lag_) +
                                               ", where LagKV scores by position: " + recency}};
    if (budget <= n_sink_ + lag_)
      return {{"lagkv_tail_covers_budget", "the budget is within the sinks and the tail partition (>= lag_size = " +
                                               std::to_string(lag_) + " tokens), which all score the top score: " +
                                               recency}};
    return {};
  }

  void score(const StepContext& ctx, Scores& out) override {
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) score_head(ctx, static_cast<int>(g), out[g]);
  }

 private:
  void score_head(const StepContext& ctx, int g, std::vector<double>& s) const {
    const std::vector<int>& cand = ctx.cand[g];
    const int n = static_cast<int>(cand.size());
    s.assign(n, 1.0);
    if (n < n_sink_ + 2 * lag_) {
      for (int i = n_sink_; i < n; ++i) s[i] = double(i - n_sink_) / double(n - n_sink_);
      return;
    }
    const int partitions = (n - n_sink_) / lag_;  // the last one (and the remainder) is the tail
    std::vector<double> key_score, value_score;
    for (int p = 0; p + 1 < partitions; ++p) {
      const int begin = n_sink_ + p * lag_;
      states_score(ctx, ctx.x.k, g, cand, begin, key_score);
      states_score(ctx, ctx.x.v, g, cand, begin, value_score);
      std::vector<double> combined(lag_);
      for (int i = 0; i < lag_; ++i) combined[i] = (key_score[i] + value_score[i]) / 2;
      if (cross_) {
        std::copy(combined.begin(), combined.end(), s.begin() + begin);
        continue;
      }
      // rank within the partition; equal scores: the later candidate ranks higher
      std::vector<int> order(lag_);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return combined[a] < combined[b]; });
      for (int rank = 0; rank < lag_; ++rank) s[begin + order[rank]] = double(rank) / lag_;
    }
  }

  // softmax over the partition [begin, begin + lag) of the channel-wise std of
  // the states min-max normalised by the next partition's per-channel range.
  void states_score(const StepContext& ctx, const Tensor3& states, int g,
                    const std::vector<int>& cand, int begin, std::vector<double>& out) const {
    const int d = ctx.geom.d, T = ctx.geom.T;
    const float* base = states.data() + std::size_t(g) * T * d;
    auto at = [&](int index, int c) { return double(base[std::size_t(cand[index]) * d + c]); };
    std::vector<double> lo(d, HUGE_VAL), hi(d, -HUGE_VAL);
    for (int i = begin + lag_; i < begin + 2 * lag_; ++i)
      for (int c = 0; c < d; ++c) lo[c] = std::min(lo[c], at(i, c)), hi[c] = std::max(hi[c], at(i, c));
    // A channel constant over the reference carries no lag-relative
    // information; kvpress divides 0/0 there (nan), kvsim takes it as 0.
    std::vector<double> inv_range(d);
    for (int c = 0; c < d; ++c) inv_range[c] = hi[c] > lo[c] ? 1.0 / (hi[c] - lo[c]) : 0.0;
    out.assign(lag_, 0.0);
    for (int i = 0; i < lag_; ++i) {
      double mean = 0;
      for (int c = 0; c < d; ++c) mean += (at(begin + i, c) - lo[c]) * inv_range[c];
      mean /= d;
      double ss = 0;
      for (int c = 0; c < d; ++c) {
        const double z = (at(begin + i, c) - lo[c]) * inv_range[c] - mean;
        ss += z * z;
      }
      out[i] = std::sqrt(ss / std::max(1, d - 1));  // torch.std: unbiased
    }
    const double mx = *std::max_element(out.begin(), out.end());
    double z = 0;
    for (double& v : out) z += (v = std::exp(v - mx));
    for (double& v : out) v /= z;
  }

  int n_sink_, lag_;
  bool cross_;
};
}  // namespace

PolicyInfo lagkv_policy_info() {
  return {"lagkv", "lag-relative key/value spread, ranked within partitions of lag_size; sinks and tail kept",
          {{"n_sink", "4", "attention-sink tokens kept at the start"},
           {"lag_size", "128", "partition length; each partition is scored against the next"},
           {"cross_scoring", "0", "1: raw softmax scores across partitions instead of ranks"}},
          [](const PolicyParams& p) {
            return std::make_unique<LagKVPolicy>(p.get_int("n_sink", 0, 1 << 30), p.get_int("lag_size", 1, 1 << 30),
                                                 p.get_int("cross_scoring", 0, 1) == 1);
          }};
}
}  // namespace kvsim
