#pragma once
// Block prompt processing (DESIGN §2) for one policy on one layer.
#include "policies/policy.hpp"
#include "sim/engine/replay_options.hpp"

namespace kvsim {

// Replays the context [0, C) of one layer through `policy` at budget N (context
// tokens per KV head; pooled policies get G*N per layer) and returns the kept
// context positions per KV head. block == 0 (or Pooling::model) = one-shot.
//  - block mode: the cache starts as [0, N); for each following block of B
//    context tokens, candidates = cache ∪ block, scores recomputed on the
//    candidates, protections applied (--sinks, --recent), the top N stay.
//  - N >= C or policy.keep_all(): everything is kept, the policy is not called.
KeptSet replay_layer(Policy& policy, const LayerTensors& x, const LayerGeom& geom, int layer,
                     int budget, const ReplayOptions& options, const LayerShared& shared);

// One-shot scores of a layer (all context candidates), protections applied;
// used by the model-wide pre-pass. Scores are divided by policy.layer_normalizer().
Scores oneshot_scores(Policy& policy, const LayerTensors& x, const LayerGeom& geom, int layer,
                      int budget, const ReplayOptions& options, const LayerShared& shared);

KeptSet keep_everything(const LayerGeom& geom);

}  // namespace kvsim
