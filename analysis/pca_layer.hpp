#pragma once
// PCA key diversity for every KV head of one layer (DESIGN §5), from in-memory
// tensors so it can be tested without a dump file.
#include <optional>
#include <vector>

#include "analysis/key_pca.hpp"
#include "analysis/kept_set_source.hpp"
#include "io/kvdump.hpp"

namespace kvsim::analysis {

struct KeptSetStats {
  std::size_t n_kept = 0;
  double effective_rank = 0;        // of the kept keys' own covariance spectrum
  double mean_pairwise_cosine = 0;  // over kept pairs
};

struct HeadPca {
  int layer = 0, kv_head = 0;
  KeyPca pca;                        // of the context keys [0, C)
  double mean_pairwise_cosine = 0;   // of all context keys
  DMatrix coords;                    // [C, 2] top-2 PC coordinates
  std::vector<float> attention;      // [C] received, group mean over query heads
  std::vector<double> key_norm;      // [C] |k_j|
  std::optional<std::vector<bool>> kept;  // [C] when a kept set was given
  std::optional<KeptSetStats> kept_stats;
};

// q: [H, T, d], k: [G, T, d]. `kept` (optional) is asked once per KV head.
// Throws std::out_of_range when a kept position is outside [0, C).
std::vector<HeadPca> pca_layer(const Tensor3& q, const Tensor3& k, int context_len, double scale,
                               int layer, const KeptSetProvider* kept = nullptr);

}  // namespace kvsim::analysis
