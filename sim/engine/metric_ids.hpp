#pragma once
// The metrics' ids in results rows, and their names in results.csv.
#include <string>

namespace kvsim {

// Metric ids; names in metric_name(). Per-head metrics are also summarised per
// layer as <name>_mean/_p50/_p95/_min at head -1.
enum Metric : int {
  kAttnRecall, kTopkRecall, kOracleGap, kHeadOutErr, kKeptFraction, kNumHeadMetrics,
  kLayerOutErr = kNumHeadMetrics,
  kFirstSummary  // + 4 * head metric + {0 mean, 1 p50, 2 p95, 3 min}
};
std::string metric_name(int metric);

}  // namespace kvsim
