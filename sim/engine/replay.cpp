#include "sim/engine/replay.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <numeric>

#include "io/errors.hpp"
#include "policies/kernels/selection.hpp"

namespace kvsim {

KeptSet keep_everything(const LayerGeom& geom) {
  std::vector<int> all(geom.C);
  std::iota(all.begin(), all.end(), 0);
  return KeptSet(geom.G, all);
}

namespace {
KeptSet select(const Policy& policy, const KeptSet& cand, const Scores& scores, int budget,
               const LayerGeom& geom) {
  KeptSet own;
  if (policy.select_kept(cand, scores, budget, own)) return own;
  if (policy.pooling() == Pooling::per_head) {
    KeptSet out(cand.size());
    for (std::size_t g = 0; g < cand.size(); ++g) out[g] = select_top(cand[g], scores[g], budget);
    return out;
  }
  return select_pooled(cand, scores, static_cast<long>(geom.G) * budget, policy.pooled_floor(budget));
}

// A nan score would silently rank last and an inf one first: neither is the
// policy's choice, so the unit stops naming where it happened.
void check_scores(const KeptSet& cand, const Scores& scores, int layer) {
  bool ok = scores.size() == cand.size();
  for (std::size_t g = 0; ok && g < cand.size(); ++g) ok = scores[g].size() == cand[g].size();
  if (!ok) throw std::logic_error("policy returned scores of the wrong shape");
  for (std::size_t g = 0; g < cand.size(); ++g)
    for (std::size_t i = 0; i < cand[g].size(); ++i)
      if (!std::isfinite(scores[g][i]))
        throw InputError("layer " + std::to_string(layer) + ", KV head " + std::to_string(g) + ": the score of token " +
                         std::to_string(cand[g][i]) + " is " + (std::isnan(scores[g][i]) ? "nan" : "inf") +
                         "; the layer's values are beyond what this policy computes with "
                         "(check the dump with kvsim inspect --stats)");
}
}  // namespace

Scores oneshot_scores(Policy& policy, const LayerTensors& x, const LayerGeom& geom, int layer,
                      int budget, const ReplayOptions& options, const LayerShared& shared) {
  const KeptSet cand = keep_everything(geom);
  StepContext ctx{x, geom, shared, layer, 0, geom.C, cand, budget, options.gqa, options.seed};
  policy.begin_layer(ctx);
  Scores scores;
  policy.score(ctx, scores);
  check_scores(cand, scores, layer);
  const double norm = policy.layer_normalizer();
  for (auto& s : scores)
    for (auto& v : s) v /= norm;
  apply_protections(cand, scores, options.sinks, options.recent, geom.C);
  return scores;
}

KeptSet replay_layer(Policy& policy, const LayerTensors& x, const LayerGeom& geom, int layer,
                     int budget, const ReplayOptions& options, const LayerShared& shared) {
  const int C = geom.C;
  budget = policy.layer_budget(budget, layer, geom, x);  // an allocator's share of this layer
  if (policy.keep_all() || budget >= C) return keep_everything(geom);
  budget = std::max(0, budget);
  const bool oneshot = options.block <= 0 || policy.pooling() == Pooling::model;
  if (oneshot) {
    const KeptSet cand = keep_everything(geom);
    Scores scores = oneshot_scores(policy, x, geom, layer, budget, options, shared);
    return select(policy, cand, scores, budget, geom);
  }
  // Initial fill: the cache holds [0, N).
  std::vector<int> fill(budget);
  std::iota(fill.begin(), fill.end(), 0);
  KeptSet cache(geom.G, fill);
  {
    StepContext ctx{x, geom, shared, layer, 0, budget, cache, budget, options.gqa, options.seed};
    policy.begin_layer(ctx);
    if (policy.observes_fill() && budget > 0) {
      Scores ignored;
      policy.score(ctx, ignored);
    }
  }
  KeptSet cand(geom.G);
  Scores scores;
  for (int b = budget; b < C; b += options.block) {
    const int e = std::min(C, b + options.block);
    for (int g = 0; g < geom.G; ++g) {
      cand[g] = cache[g];
      for (int p = b; p < e; ++p) cand[g].push_back(p);
    }
    StepContext ctx{x, geom, shared, layer, b, e, cand, budget, options.gqa, options.seed};
    policy.score(ctx, scores);
    check_scores(cand, scores, layer);
    apply_protections(cand, scores, options.sinks, options.recent, e);
    cache = select(policy, cand, scores, budget, geom);
  }
  return cache;
}

}  // namespace kvsim
