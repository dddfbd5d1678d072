#pragma once
// Rotary position embedding in both pairing conventions (see RopePairing),
// with the HF "linear" and "llama3" frequency scalings.
#include <vector>

#include "io/model/model_config.hpp"

namespace kvsim {

class Rope {
 public:
  explicit Rope(const ModelConfig& config);

  // Rotates `n_heads` consecutive heads of `x` (head-major, head_dim each) to `position`.
  void apply(float* x, int n_heads, int position) const;
  const std::vector<double>& inverse_frequencies() const { return inv_freq_; }

 private:
  int head_dim_;
  RopePairing pairing_;
  std::vector<double> inv_freq_;  // [head_dim / 2]
};

}  // namespace kvsim
