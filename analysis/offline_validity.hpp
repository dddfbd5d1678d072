#pragma once
// Do the offline metrics predict the real damage? Across (policy, budget)
// pairs, the rank (Spearman) and linear (Pearson) correlation of each offline
// metric's item-level mean with the item's mean KL(p_full || p_compressed)
// (kvsim evaluate, docs/EVALUATE.md).
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kvsim::analysis {

inline constexpr const char* kValidityHeader = "metric,layer,n_pairs,spearman,pearson";

// offline[{metric, layer}][item] (layer -1: over all layers) and kl[item];
// items where either value is not finite are left out of that correlation
// (the caller marks items that keep everything with a NaN KL).
// Rows in map order; NaN correlations (fewer than 2 pairs, no variance)
// written as nan.
std::string validity_csv(const std::map<std::pair<std::string, int>, std::vector<double>>& offline,
                         const std::vector<double>& kl);

}  // namespace kvsim::analysis
