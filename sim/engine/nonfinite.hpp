#pragma once
// NaN/Inf in a dumped layer. A single non-finite q/k/v value poisons every
// softmax it enters, so it must never reach the engine silently: by default
// the sweep stops naming the layer, head and token; with --allow-nonfinite the
// affected (layer, KV head) units are dropped from the layer instead (the KV
// head, its query heads and their o_proj columns), and reported.
#include <string>
#include <vector>

#include "io/layer_geometry.hpp"

namespace kvsim {

// Per KV head of one layer: "" when all of its data is finite, else where the
// first non-finite value is, e.g. "nan in /layers/1/q at query head 3, token 17, dim 2".
// Checked: k[g], v[g], q of the group's query heads, the o_proj columns of those heads.
std::vector<std::string> find_nonfinite(const LayerTensors& x, const LayerGeom& geom, int layer);

// A layer with some KV heads removed. `heads[h']` is the original query-head
// index of remaining head h' (results.csv reports original indices).
struct FilteredLayer {
  LayerTensors x;
  LayerGeom geom;
  std::vector<int> heads;
};
// Keeps the KV heads with keep[g] true; geom.G/H shrink accordingly.
FilteredLayer drop_kv_heads(const LayerTensors& x, const LayerGeom& geom, const std::vector<bool>& keep);

}  // namespace kvsim
