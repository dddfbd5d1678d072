#include "sim/engine/unit_rows.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "io/errors.hpp"

namespace kvsim {

namespace {
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}
}  // namespace

void layer_rows(int item, int layer, const LayerMetrics& m, const std::vector<double>& oracle_recall,
                const LayerGeom& lg, const std::vector<int>& heads, int all_H, std::vector<MetricRow>& out) {
  std::vector<std::vector<double>> per(kNumHeadMetrics, std::vector<double>(lg.H));
  for (int h = 0; h < lg.H; ++h) {
    per[kAttnRecall][h] = m.attn_recall[h];
    per[kTopkRecall][h] = m.topk_recall[h];
    per[kOracleGap][h] = oracle_recall[h] - m.attn_recall[h];
    per[kHeadOutErr][h] = m.head_out_err[h];
    per[kKeptFraction][h] = m.kept_fraction[lg.kv_of(h)];
  }
  for (int k = 0; k < kNumHeadMetrics; ++k)
    for (int h = 0; h < lg.H; ++h) out.push_back({item, layer, heads[h], k, per[k][h]});
  if (m.has_layer_err && lg.H == all_H) out.push_back({item, layer, -1, kLayerOutErr, m.layer_out_err});
  for (int k = 0; k < kNumHeadMetrics; ++k) {
    const auto& v = per[k];
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
    // In the order of kMetricSummaries: mean, p50, p95, min.
    const double vals[kNumSummaries] = {mean, quantile(v, 0.5), quantile(v, 0.95),
                                        *std::min_element(v.begin(), v.end())};
    for (int s = 0; s < kNumSummaries; ++s)
      out.push_back({item, layer, -1, kFirstSummary + kNumSummaries * k + s, vals[s]});
  }
}

void check_finite_rows(const std::vector<MetricRow>& rows, const SweepItem& item, bool allow_nonfinite,
                       WarningLog* warnings) {
  for (const auto& r : rows) {
    if (std::isfinite(r.value)) continue;
    const std::string what = "layer " + std::to_string(r.layer) + ", head " + std::to_string(r.head) + ": " +
                             metric_name(r.metric) + " of " + item.policy_label + " at budget " +
                             std::to_string(item.budget_tokens) + " is " + (std::isnan(r.value) ? "nan" : "inf");
    if (!allow_nonfinite)
      throw InputError(what + "; the layer's values are beyond what kvsim computes with (check the dump "
                              "with kvsim inspect --stats); --allow-nonfinite keeps such values");
    if (warnings)
      warnings->add({"nonfinite_metric", what + " (kept in results.csv: --allow-nonfinite)", "",
                     item.policy_label, item.budget_tokens, r.layer});
  }
}

}  // namespace kvsim
