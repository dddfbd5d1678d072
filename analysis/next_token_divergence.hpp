#pragma once
// How far a compressed cache moves the model's next-token distributions:
// per future position, KL(p_full || p_compressed), whether the top-1 token
// agrees, and the change in the log-probability of the token that actually
// came next. Everything in double from float logits.
#include <vector>

namespace kvsim::analysis {

struct NextTokenDivergence {
  std::vector<double> kl;          // [row] KL(p_full || p_compressed), nats
  std::vector<double> top1_agree;  // [row] 1 when the argmaxes (first maximum) agree, else 0
  std::vector<double> delta_logp;  // [row] log p_compressed(next) - log p_full(next); NaN where next < 0
};

// `full` and `compressed` are [rows, vocab] logits; next[row] is the token
// that followed (-1: none, e.g. the last position).
NextTokenDivergence next_token_divergence(const std::vector<float>& full, const std::vector<float>& compressed,
                                          int rows, int vocab, const std::vector<int>& next);

}  // namespace kvsim::analysis
