#pragma once
// Finite but extreme magnitudes in a dumped layer (values no real activation
// has: a dump written with the wrong dtype or scale). float32 GEMMs would turn
// them into inf/nan, or an exactly zero error, without any NaN in the input.
//  - q and k enter the logits s·q·k, and softmax is not scale invariant: when
//    ||q||·||k|| can leave the float32 range, the (layer, KV head) cannot be
//    computed and is reported like a NaN (error, or dropped with --allow-nonfinite).
//  - v and o_proj enter only through ratios (head and layer output errors) and
//    through laprox scores, which all scale uniformly: they are multiplied by a
//    power of two, which is exact, so every result is unchanged.
#include <string>
#include <vector>

#include "io/layer_geometry.hpp"

namespace kvsim {

// Per KV head of one layer: "" when s·q·k stays far inside float32 for every
// query of the group and every key (Cauchy–Schwarz bound on the dot products
// and their partial sums), else why not, naming the largest q and k.
std::vector<std::string> find_logit_overflow(const LayerTensors& x, const LayerGeom& geom, int layer);

// Rescales v (one factor for the whole layer) and o_proj (another) by powers of
// two when their largest magnitude is outside [2^-20, 2^20]; values in that
// range, i.e. every real model's, are left bit-for-bit untouched.
void rescale_values_exactly(LayerTensors& x);

}  // namespace kvsim
