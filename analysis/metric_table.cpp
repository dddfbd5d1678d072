#include "analysis/metric_table.hpp"

#include <stdexcept>

namespace kvsim {

namespace {

MetricDescription describe(const MetricRowSpec& m) {
  return {m.name, m.title, m.axis_label, m.unit_interval, m.log_scale, m.better, m.oracle_is_ceiling,
          m.oracle_note};
}

MetricDescription describe_summary(const MetricRowSpec& base, const MetricSummarySpec& s) {
  MetricDescription m = describe(base);
  m.name = std::string(base.name) + "_" + s.name;
  m.title += std::string(" (per-layer ") + s.words + " over heads)";
  m.axis_label += std::string(", per-layer ") + s.words;
  if (base.oracle_is_ceiling && !s.is_mean) {
    m.oracle_is_ceiling = false;
    m.oracle_note = "(optimal for the mean)";
  }
  return m;
}

}  // namespace

std::string metric_name(int metric) {
  if (metric < 0 || metric >= kNumMetricIds)
    throw std::out_of_range("metric id " + std::to_string(metric) + " is not in the metric table");
  if (metric < kFirstSummary) return kMetricTable[metric].name;
  const int s = metric - kFirstSummary;
  return std::string(kMetricTable[s / kNumSummaries].name) + "_" + kMetricSummaries[s % kNumSummaries].name;
}

MetricDescription describe_metric(const std::string& name) {
  for (const auto& m : kMetricTable)
    if (name == m.name) return describe(m);
  for (const auto& base : kMetricTable)
    for (const auto& s : kMetricSummaries)
      if (name == std::string(base.name) + "_" + s.name) return describe_summary(base, s);
  return {name, name, name, false, false, Better::neither, false, ""};
}

}  // namespace kvsim
