#include "analysis/plot/metric_names.hpp"

#include <vector>

namespace kvsim::plot {

namespace {

// The oracle keeps the context keys with the most future attention: the exact
// optimum of mean attention-mass recall (M1) at a per-head budget, and nothing
// more. It is no bound on top-k recall (which counts keys, not mass) nor on
// output errors (which also weigh the values).
const std::vector<MetricDescription>& table() {
  static const std::vector<MetricDescription> metrics = {
      {kMetricAttnRecall, "Attention-mass recall", "attention-mass recall (fraction)", true, false,
       Better::higher, true, "(ceiling)"},
      {kMetricTopkRecall, "Top-k recall", "top-k recall (fraction of the N most-attended keys kept)", true,
       false, Better::higher, false, "(attention-optimal)"},
      {kMetricOracleGap, "Oracle gap", "oracle gap M1(oracle) − M1(policy)", false, false, Better::lower,
       false, "(0 by definition)"},
      {kMetricHeadOutputError, "Head output error", "head output error ‖o−ô‖/‖o‖", false, true,
       Better::lower, false, "(recall-optimal)"},
      {kMetricLayerOutputError, "Layer output error", "layer output error ‖y−ŷ‖/‖y‖", false, true,
       Better::lower, false, "(recall-optimal)"},
      {kMetricKeptFraction, "Kept fraction", "kept fraction of the context", true, false, Better::neither,
       false, ""},
  };
  return metrics;
}

struct Summary {
  const char* suffix;
  const char* words;  // how the per-layer value summarises the heads
};
const Summary kSummaries[] = {{"_mean", "mean"}, {"_p50", "median"}, {"_p95", "95th percentile"},
                              {"_min", "minimum"}};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

MetricDescription describe_metric(const std::string& name) {
  for (const auto& m : table())
    if (m.name == name) return m;
  for (const auto& s : kSummaries) {
    if (!ends_with(name, s.suffix)) continue;
    const std::string base_name = name.substr(0, name.size() - std::string(s.suffix).size());
    for (const auto& base : table()) {
      if (base.name != base_name) continue;
      MetricDescription m = base;
      m.name = name;
      m.title = base.title + " (per-layer " + s.words + " over heads)";
      m.axis_label = base.axis_label + ", per-layer " + s.words;
      // the oracle maximises the mean over the heads of a layer, not a quantile of them
      if (base.oracle_is_ceiling && std::string(s.suffix) != "_mean") {
        m.oracle_is_ceiling = false;
        m.oracle_note = "(optimal for the mean)";
      }
      return m;
    }
  }
  return {name, name, name, false, false, Better::neither, false, ""};
}

}  // namespace kvsim::plot
