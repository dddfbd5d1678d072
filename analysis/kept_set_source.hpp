#pragma once
// Where the kept/evicted flags of the PCA scatter come from. The analysis only
// needs "which context positions does KV head g of layer l keep"; who decides
// that (the replay engine, a file) sits behind this one function type.
#include <functional>
#include <string>
#include <vector>

#include "io/layer_geometry.hpp"
#include "sim/engine/replay_options.hpp"
#include "sim/run/warnings.hpp"

namespace kvsim {
class DumpReader;
}

namespace kvsim::analysis {

// Kept context positions (each in [0, C), any order) for (layer, kv_head).
using KeptSetProvider = std::function<std::vector<int>(int layer, int kv_head)>;

struct KeptSets {
  std::string policy;  // labels only: written to the policy/budget columns
  std::string budget;
  KeptSetProvider positions;
  WarningLog warnings;  // caveats of the replay that produced the sets (sim/run/warnings.hpp)
};

// Reads a CSV with columns layer,kv_head,position (one row per kept context
// token; other columns ignored). A (layer, kv_head) absent from the file keeps
// nothing. Throws InputError naming the file (and line) on a missing column,
// a bad value, a layer or kv_head the dump (`attrs`) does not have, or a
// position listed twice for the same (layer, kv_head): silently dropping or
// double-counting rows would change the kept-set statistics.
KeptSetProvider kept_sets_from_csv(const std::string& path, const DumpAttrs& attrs);

// The replay engine's final kept set of `policy` (a spec such as
// "snapkv:window=32") at `budget` (tokens or ratio, DESIGN §2) under `options`
// (block, sinks, recent, window, seed, gqa), for `layers` (empty = all). Runs
// one sweep item over those layers up front (run_sweep with keep_sets), so
// UsageError/InputError for a bad policy or dump surface before any analysis.
KeptSets kept_sets_from_engine(const DumpReader& dump, const std::string& policy,
                               const std::string& budget, const ReplayOptions& options,
                               const std::vector<int>& layers);

}  // namespace kvsim::analysis
