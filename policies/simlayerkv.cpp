// simlayerkv — SimLayerKV's lazy layers (Zhang et al., "SimLayerKV: A Simple
// Framework for Layer-Level KV Cache Reduction", arXiv 2410.13846; kvpress
// SimLayerKVPress, kvpress/presses/simlayerkv_press.py). A layer is lazy when
// its last n_last context queries put more than lazy_threshold of their
// attention (mean over the layer's query heads and those queries, causal
// softmax over the context) on the tokens a streaming cache would keep: the
// first n_initial and the most recent N - n_initial. A lazy layer keeps
// exactly those (streamingllm with n_sink = n_initial); any other layer keeps
// its whole context. kvpress sizes the lazy cache by n_recent (1024) and
// ignores the compression ratio; here the swept budget N is the lazy layer's
// size, so simlayerkv sweeps like the other policies (its memory is N only in
// lazy layers: kept_fraction in results.csv says how much it kept).
#include <algorithm>
#include <numeric>

#include "io/errors.hpp"
#include "policies/kernels/group_attention.hpp"
#include "policies/policy.hpp"

namespace kvsim {
namespace {

class SimLayerKvPolicy : public Policy {
 public:
  // A lazy layer's cache is streamingllm's: that policy scores it.
  SimLayerKvPolicy(double threshold, int n_last, int n_initial)
      : threshold_(threshold), n_last_(n_last), n_initial_(n_initial),
        streaming_(make_policy(parse_policy_spec("streamingllm:n_sink=" + std::to_string(n_initial)))) {}
  void check(const LayerGeom& geom) const override {
    if (n_last_ > geom.C)
      throw UsageError("simlayerkv:n_last=" + std::to_string(n_last_) + " exceeds the context length " +
                       std::to_string(geom.C));
  }
  int layer_budget(int budget, int layer, const LayerGeom& geom, const LayerTensors& x) const override {
    return budget >= geom.C || lazy_share(budget, geom, x) > threshold_ ? budget : geom.C;
  }
  void score(const StepContext& ctx, Scores& out) override { streaming_->score(ctx, out); }
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    return {{"simlayerkv_keeps_busy_layers",
             "keeps N tokens only in the layers it finds lazy and the whole context in the others: its memory is "
             "above N (kept_fraction in results.csv)"}};
  }

  // Mean attention share of the last n_last context queries on the first
  // n_initial and the last N - n_initial context tokens.
  double lazy_share(int budget, const LayerGeom& geom, const LayerTensors& x) const {
    const int C = geom.C, r = geom.r, nq = n_last_;
    std::vector<int> cand(C);
    std::iota(cand.begin(), cand.end(), 0);
    const int recent_from = C - std::max(0, budget - n_initial_);
    double share = 0;
    std::vector<float> probs;
    for (int g = 0; g < geom.G; ++g) {
      group_attention(x, geom, g, C - nq, C, cand, probs);
      for (int row = 0; row < r * nq; ++row)
        for (int j = 0; j < C; ++j)
          if (j < n_initial_ || j >= recent_from) share += probs[std::size_t(row) * C + j];
    }
    return share / (double(geom.H) * nq);
  }

 private:
  double threshold_;
  int n_last_, n_initial_;
  std::unique_ptr<Policy> streaming_;
};

}  // namespace

PolicyInfo simlayerkv_policy_info() {
  PolicyInfo info{"simlayerkv",
          "lazy layers (the last queries attend mostly to the first n_initial and the recent tokens) keep a "
          "streaming cache of N; other layers keep everything",
          {{"lazy_threshold", "0.9", "attention share above which a layer is lazy (kvpress: required)"},
           {"n_last", "1", "last context queries whose attention decides"},
           {"n_initial", "4", "initial tokens a lazy layer keeps"}},
          [](const PolicyParams& p) {
            return std::make_unique<SimLayerKvPolicy>(p.get_double("lazy_threshold", 0.0, 1.0),
                                                      p.get_int("n_last", 1, 1 << 30), p.get_int("n_initial", 0, 1 << 30));
          }};
  info.in_all = false;  // keeps whole layers: not comparable at equal memory in an all-policies figure
  return info;
}

}  // namespace kvsim
