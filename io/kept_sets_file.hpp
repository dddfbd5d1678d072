#pragma once
// kept.h5: the final kept context positions of a replay or sweep, per
// (policy, budget, layer, KV head), readable with h5py. Layout (version 1):
//   /                       attrs format = "kvsim-kept", version = 1, dump (label),
//                           context_len C, n_kv_heads G
//   /items/<i>              one (policy, budget) item, i = 0, 1, ... in results.csv order;
//                           attrs policy, budget (tokens N), budget_ratio, block
//   /items/<i>/<layer>/positions   int32 [sum of the KV heads' counts], positions in [0, C),
//                                  ascending within each KV head
//   /items/<i>/<layer>/offsets     int64 [G + 1]: KV head g keeps positions[offsets[g]:offsets[g+1]]
// Written atomically (temporary name, renamed when complete), without
// timestamps: the same kept sets give the same bytes.
#include <string>
#include <vector>

#include "io/layer_geometry.hpp"

namespace kvsim {

struct KeptSetsItem {
  std::string policy;
  int budget_tokens = 0;
  double budget_ratio = 0;
  int block = 0;
  std::vector<int> layers;     // layer ids
  std::vector<KeptSet> kept;   // [layer index][KV head] positions
};

struct KeptSetsFile {
  std::string dump;  // the label the writer recorded
  int context_len = 0, n_kv_heads = 0;
  std::vector<KeptSetsItem> items;
};

// Reads and checks a kept.h5 (untrusted): format and version, every offset
// and position (in [0, C), ascending per KV head), one line InputError naming
// the file and the object otherwise.
KeptSetsFile read_kept_sets_file(const std::string& path);

void write_kept_sets_file(const std::string& path, const std::string& dump_label, int context_len, int n_kv_heads,
                          const std::vector<KeptSetsItem>& items);

}  // namespace kvsim
