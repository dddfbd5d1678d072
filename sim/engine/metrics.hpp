#pragma once
// DESIGN §4 metrics of one kept set on one layer, from the shared FutureAttention:
//   M1 attn_recall   R_t = sum_{j in S_t} a_j             (per query head, mean over t)
//   M2 topk_recall   |S ∩ TopN(a_t[0:C))| / min(N, C)      (N = nominal budget)
//   M4 head_out_err  ||o_t - ô_t|| / ||o_t||,  ô renormalised on S_t
//   M5 layer_out_err ||y_t - ŷ_t|| / ||y_t||,  y = W_o concat_h(o_h)   (needs o_proj)
//   kept_fraction    |S_g| / C
// S_t = S_g(h) ∪ [C, t]. ô is formed from the kept or the evicted side,
// whichever is smaller: ô = (o_fut + P_S V_S)/(m_fut + m_S) or (o_all - P_E V_E)/(m_all - m_E).
#include <vector>

#include "policies/kernels/future_attention.hpp"

namespace kvsim {

// TopN of the context part of every future attention row, ranked by the
// logits s·q_t·k_j (ties -> later position). Probabilities order the same way
// except where they tie, notably where exp underflows to exactly 0 on peaked
// heads; those ties are broken by the logit, computed exactly in double:
// j is in TopN(h, t) iff P[j] > tau, or P[j] == tau and
// (logit_j > ltau or (logit_j == ltau and j >= lcut)).
struct TopNSets {
  int n = 0;                 // min(N, C)
  std::vector<float> tau;    // [H*W] the N-th largest probability
  std::vector<double> ltau;  // [H*W] among P == tau: logit threshold (-inf: all of them)
  std::vector<int> lcut;     // [H*W] among P == tau, logit == ltau: positions >= lcut
};
TopNSets compute_topn(const FutureAttention& fa, const LayerTensors& x, int budget);

struct LayerMetrics {
  std::vector<double> attn_recall;    // [H]
  std::vector<double> topk_recall;    // [H]
  std::vector<double> head_out_err;   // [H]
  std::vector<double> kept_fraction;  // [G]
  bool has_layer_err = false;
  double layer_out_err = 0;
};

// recall_only: M1 and kept_fraction only (no products).
LayerMetrics compute_metrics(const FutureAttention& fa, const LayerTensors& x, const KeptSet& kept,
                             const TopNSets* topn, bool recall_only = false);

// Pure oracle kept set (top-N per KV head of FutureAttention::oracle_score, no protections).
KeptSet oracle_kept(const FutureAttention& fa, int budget);

}  // namespace kvsim
