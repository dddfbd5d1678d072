#include "sim/engine/metric_ids.hpp"

namespace kvsim {

namespace {
const char* kHeadMetricNames[kNumHeadMetrics] = {"attn_recall", "topk_recall", "oracle_gap",
                                                 "head_out_err", "kept_fraction"};
const char* kSummaryNames[4] = {"mean", "p50", "p95", "min"};
}  // namespace

std::string metric_name(int metric) {
  if (metric < kNumHeadMetrics) return kHeadMetricNames[metric];
  if (metric == kLayerOutErr) return "layer_out_err";
  const int s = metric - kFirstSummary;
  return std::string(kHeadMetricNames[s / 4]) + "_" + kSummaryNames[s % 4];
}

}  // namespace kvsim
