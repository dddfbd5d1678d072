#pragma once
// The rows of one (item, layer) unit and the check that none is non-finite.
#include <vector>

#include "sim/engine/metrics.hpp"
#include "sim/engine/sweep.hpp"

namespace kvsim {

// Per-head metrics (original head ids), layer_out_err (only when every head is
// present: y needs all of them), and the per-layer summaries over the heads present.
void layer_rows(int item, int layer, const LayerMetrics& m, const std::vector<double>& oracle_recall,
                const LayerGeom& lg, const std::vector<int>& heads, int all_H, std::vector<MetricRow>& out);

// A non-finite metric value must never reach results.csv unnoticed: an
// InputError naming where it is, or with allow_nonfinite a warning (when
// `warnings` is given).
void check_finite_rows(const std::vector<MetricRow>& rows, const SweepItem& item, bool allow_nonfinite,
                       WarningLog* warnings);

}  // namespace kvsim
