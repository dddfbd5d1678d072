#pragma once
// The replay engine as a source of kept sets for the analyses
// (analysis/kept_set_source.hpp): `kvsim analyze --pca --policy P --budget B`
// flags the keys that P keeps. The provider is built here, where the engine
// is, so that analysis never runs it; the replay's caveats travel beside it.
#include <string>
#include <vector>

#include "analysis/kept_set_source.hpp"
#include "io/kvdump.hpp"
#include "sim/engine/replay_options.hpp"
#include "sim/run/warnings.hpp"

namespace kvsim {

struct EngineKeptSets {
  analysis::KeptSets sets;  // labelled with the policy's label and the budget as given
  WarningLog warnings;      // caveats of the replay that produced them
};

// The replay engine's final kept set of `policy` (a spec such as
// "snapkv:window=32") at `budget` (tokens or ratio, DESIGN §2) under `options`
// (block, sinks, recent, window, seed, gqa), for `layers` (empty = all). Runs
// one sweep item over those layers up front (run_sweep with keep_sets), so
// UsageError/InputError for a bad policy or dump surface before any analysis.
// The provider throws std::out_of_range for a (layer, kv_head) not replayed.
EngineKeptSets kept_sets_from_engine(const DumpReader& dump, const std::string& policy,
                                     const std::string& budget, const ReplayOptions& options,
                                     const std::vector<int>& layers);

}  // namespace kvsim
