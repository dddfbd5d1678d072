#pragma once
// Where the kept/evicted flags of the PCA scatter come from. The analysis only
// needs "which context positions does KV head g of layer l keep"; who decides
// that (a file here; the replay engine in sim/engine/engine_kept_sets.hpp)
// sits behind this one function type. Analysis never runs the engine.
#include <functional>
#include <string>
#include <vector>

#include "io/kvdump.hpp"

namespace kvsim::analysis {

// Kept context positions (each in [0, C), any order) for (layer, kv_head).
using KeptSetProvider = std::function<std::vector<int>(int layer, int kv_head)>;

struct KeptSets {
  std::string policy;  // labels only: written to the policy/budget columns
  std::string budget;
  KeptSetProvider positions;
};

// Reads a CSV with columns layer,kv_head,position (one row per kept context
// token; other columns ignored). A (layer, kv_head) absent from the file keeps
// nothing. Throws InputError naming the file (and line) on a missing column,
// a bad value, a layer or kv_head the dump (`attrs`) does not have, or a
// position listed twice for the same (layer, kv_head): silently dropping or
// double-counting rows would change the kept-set statistics.
KeptSetProvider kept_sets_from_csv(const std::string& path, const DumpAttrs& attrs);

// Item `item` (results.csv order; -1 = the only one) of a kept.h5 written by
// replay/sweep --save-kept (io/kept_sets_file.hpp). InputError naming the file
// when its KV heads or context length differ from the dump's (`attrs`,
// `context_len`), or when the analysis asks for a layer the file lacks;
// UsageError naming --kept-item, with the file's items, for a bad index.
KeptSets kept_sets_from_kept_file(const std::string& path, const DumpAttrs& attrs, int context_len, int item);

}  // namespace kvsim::analysis
