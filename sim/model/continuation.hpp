#pragma once
// The end-to-end check of an eviction policy: after the context [0, C) has
// been prefilled once (shared by every policy and budget), the remaining
// tokens [C, T) run teacher-forced, with the full cache or with a compressed
// one (their own keys and values appended uncompressed), and their
// next-token logits are compared (kvsim evaluate, docs/EVALUATE.md).
#include <vector>

#include "io/model/model_weights.hpp"
#include "sim/model/transformer.hpp"

namespace kvsim {

class Continuation {
 public:
  // InputError unless 1 <= context_len < tokens.size().
  Continuation(const LoadedModel& model, const std::vector<int>& tokens, int context_len);

  // Logits [W, V] of positions C .. T-1 (row r predicts token C + r + 1);
  // `mask` null: the full cache. The same code path either way, so a mask
  // that keeps everything gives the full cache's bits.
  std::vector<float> logits(const ContextMask* mask) const;

  int future_len() const { return static_cast<int>(future_.size()); }
  int vocab() const { return vocab_; }

 private:
  std::vector<int> future_;
  int vocab_;
  Transformer prefilled_;  // after the context: copied for each continuation
};

}  // namespace kvsim
