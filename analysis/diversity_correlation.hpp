#pragma once
// KeyDiff's claim tested on one layer's tensors (DESIGN §5): do distinctive
// keys (x = -cos(k_j, mean unit key)) receive more attention from the future
// queries? K-norm's score (x = -|k_j|) is evaluated the same way beside it.
#include <string>
#include <vector>

#include "analysis/rank_statistics.hpp"
#include "io/kvdump.hpp"

namespace kvsim::analysis {

// Names used in output files; change here only.
inline constexpr const char* kScoreKeyDiff = "keydiff";
inline constexpr const char* kScoreKNorm = "knorm";

struct ScoreCorrelation {
  double spearman_rho = 0;    // x vs y, average ranks for ties
  double pearson_r_log = 0;   // x vs log y (zeros guarded, see guarded_log)
  std::vector<QuantileBin> bins;  // quantile bins of x with mean y
};

struct HeadCorrelation {
  int layer = 0, head = 0, kv_head = 0;
  std::size_t n_keys = 0;
  ScoreCorrelation keydiff, knorm;
  const ScoreCorrelation& by_score(const std::string& score) const;
};

ScoreCorrelation correlate(const std::vector<double>& x, const std::vector<double>& y, int n_bins);

// One row per query head of the layer. q: [H, T, d], k: [G, T, d]; y is the
// attention each context key receives (attention_received_by_context).
std::vector<HeadCorrelation> correlate_layer(const Tensor3& q, const Tensor3& k, int context_len,
                                             double scale, int layer, int n_bins = 10);

// Summary over a set of heads (a layer, or all layers) for one score.
struct CorrelationSummary {
  std::size_t n_heads = 0;
  double mean_rho = 0, median_rho = 0, share_rho_positive = 0, mean_pearson_r_log = 0;
  // Bin b: mean over heads of each head's bin b (x_lo/x_hi = min/max over heads).
  std::vector<QuantileBin> bins;
};

CorrelationSummary summarize(const std::vector<HeadCorrelation>& heads, const std::string& score);

}  // namespace kvsim::analysis
