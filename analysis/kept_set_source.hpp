#pragma once
// Where the kept/evicted flags of the PCA scatter come from. The analysis only
// needs "which context positions does KV head g of layer l keep"; who decides
// that (the replay engine, a file) sits behind this one function type.
#include <functional>
#include <string>
#include <vector>

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
};

// Reads a CSV with columns layer,kv_head,position (one row per kept context
// token; other columns ignored). A (layer, kv_head) absent from the file keeps
// nothing. Throws InputError naming the file on a missing column / bad value.
KeptSetProvider kept_sets_from_csv(const std::string& path);

// HOOK for the replay engine: the final kept set of `policy` at `budget`
// (tokens or ratio, DESIGN §2) with block size `block`. Until the engine is
// wired in (analysis/kept_set_source.cpp) this throws UsageError saying so.
KeptSetProvider kept_sets_from_engine(const DumpReader& dump, const std::string& policy,
                                      const std::string& budget, int block);

}  // namespace kvsim::analysis
