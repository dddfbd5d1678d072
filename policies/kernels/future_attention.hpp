#pragma once
// Full attention of the future queries [C, T) of one layer, computed ONCE per
// layer and shared by every policy and budget of a sweep (metrics M1/M2/M4/M5
// and the `oracle` scores). One GEMM per KV group: the r query heads of a group
// are stacked against the shared keys, then a causal softmax, then P·V.
#include <vector>

#include "io/layer_geometry.hpp"

namespace kvsim {

struct FutureAttention {
  LayerGeom geom;
  // P[g]: (r*W) x T probabilities, rows head-major (row = hi*W + i is query
  // position C+i of head g*r+hi); keys after the query's position are 0.
  std::vector<std::vector<float>> P;
  std::vector<double> total;     // [H*W] sum over all keys of P (1 up to rounding)
  std::vector<double> fut_mass;  // [H*W] sum over future keys [C, t]
  std::vector<float> o_all;      // [H*W*d] sum_j P v_j over all keys
  std::vector<float> o_fut;      // [H*W*d] sum over future keys
  std::vector<double> oracle_score;  // [G*C] mean over the group's heads of sum_t P[t, j]
  bool has_y = false;            // dump has o_proj
  std::vector<float> y;          // [W*D] full layer output y_t = W_o concat_h(o_h)
  std::vector<double> y_norm;    // [W]
  double kernel_seconds = 0;     // QK^T + softmax + PV
  double kernel_flops = 0;       // 4*H*W*T*d

  int W() const { return geom.W(); }
  const float* row(int h, int i) const {
    return P[h / geom.r].data() + (std::size_t(h % geom.r) * geom.W() + i) * geom.T;
  }
};

// Computes into `fa`, reusing its buffers (no page faults when called layer after layer).
void compute_future_attention(const LayerTensors& x, const LayerGeom& geom, FutureAttention& fa);
inline FutureAttention compute_future_attention(const LayerTensors& x, const LayerGeom& geom) {
  FutureAttention fa;
  compute_future_attention(x, geom, fa);
  return fa;
}

}  // namespace kvsim
