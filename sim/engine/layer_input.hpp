#pragma once
// A layer as the engine sees it: read, shape-checked, and with non-finite or
// overflowing (layer, KV head) units either rejected (InputError naming layer,
// head and token) or, with allow_nonfinite, dropped and listed in `skipped`;
// v and o_proj rescaled exactly (sim/engine/magnitudes.hpp).
#include <vector>

#include "sim/engine/nonfinite.hpp"
#include "sim/engine/sweep.hpp"

namespace kvsim {

struct LayerLoadStats {
  double io_seconds = 0;     // source.read_layer: storage -> float32 tensors
  double check_seconds = 0;  // shape, NaN/Inf and overflow checks, exact rescale
  std::uint64_t bytes = 0;   // as stored
};

FilteredLayer load_layer(const LayerSource& source, const LayerGeom& geom, int layer, bool allow_nonfinite,
                         std::vector<SkippedUnit>& skipped, bool q_pre_rope = false, LayerLoadStats* stats = nullptr);

}  // namespace kvsim
