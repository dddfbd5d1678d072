#pragma once
// The one table of the metrics in results.csv (DESIGN §4): the id the engine
// stores in its rows, the name results.csv writes, and what the figures say
// and do with it (title, axis label, clipping, log axis, the oracle's legend).
// The engine (sim/engine/metrics.cpp, sweep.cpp, results_table.cpp) and the
// plots (analysis/plot/) both read it; neither keeps a list of its own.
//
// Adding a metric touches two files:
//   1. this one: an id in `Metric` (per-head metrics before kNumHeadMetrics,
//      layer-level ones after kLayerOutErr) and its row in kMetricTable, at
//      the index of its id (a static_assert below checks the order);
//   2. sim/engine/metrics.cpp: its computation.
// Its per-layer summaries, its name in results.csv and its wording in every
// figure follow from the row. (Ids are positions: a journal written by a
// build with another metric list must not be resumed.)
#include <cstddef>
#include <string>

namespace kvsim {

// Ids of MetricRow::metric. Per-head metrics are also summarised per layer
// (head -1) as <name>_<summary> for each entry of kMetricSummaries, with id
// kFirstSummary + kNumSummaries * head metric + summary index.
enum Metric : int {
  kAttnRecall, kTopkRecall, kOracleGap, kHeadOutErr, kKeptFraction, kNumHeadMetrics,
  kLayerOutErr = kNumHeadMetrics,
  kFirstSummary
};

enum class Better { higher, lower, neither };

struct MetricRowSpec {
  Metric id;
  const char* name;        // results.csv
  const char* title;       // "Attention-mass recall" (figure titles)
  const char* axis_label;  // "attention-mass recall (fraction)" (y axis, colour box)
  bool unit_interval;      // every value lies in [0, 1]: the axis may be clipped to it
  bool log_scale;          // positive and spanning decades: log axis when every value is > 0
  Better better;
  // Whether the oracle's curve is an upper bound of every policy's (it
  // maximises this metric's mean, DESIGN §3), and the legend note after
  // "oracle": "(ceiling)" only then.
  bool oracle_is_ceiling;
  const char* oracle_note;
};

// The oracle keeps the context keys with the most future attention: the exact
// optimum of mean attention-mass recall (M1) at a per-head budget, and nothing
// more. It is no bound on top-k recall (which counts keys, not mass) nor on
// output errors (which also weigh the values).
inline constexpr MetricRowSpec kMetricTable[] = {
    {kAttnRecall, "attn_recall", "Attention-mass recall", "attention-mass recall (fraction)", true, false,
     Better::higher, true, "(ceiling)"},                                                            // M1
    {kTopkRecall, "topk_recall", "Top-k recall", "top-k recall (fraction of the N most-attended keys kept)",
     true, false, Better::higher, false, "(attention-optimal)"},                                    // M2
    {kOracleGap, "oracle_gap", "Oracle gap", "oracle gap M1(oracle) − M1(policy)", false, false,
     Better::lower, false, "(0 by definition)"},                                                    // M3
    {kHeadOutErr, "head_out_err", "Head output error", "head output error ‖o−ô‖/‖o‖", false, true,
     Better::lower, false, "(recall-optimal)"},                                                     // M4
    {kKeptFraction, "kept_fraction", "Kept fraction", "kept fraction of the context", true, false,
     Better::neither, false, ""},
    {kLayerOutErr, "layer_out_err", "Layer output error", "layer output error ‖y−ŷ‖/‖y‖", false, true,
     Better::lower, false, "(recall-optimal)"},                                                     // M5, head -1
};
inline constexpr int kNumMetrics = int(sizeof kMetricTable / sizeof kMetricTable[0]);

// How a per-layer summary condenses a per-head metric over the layer's heads.
struct MetricSummarySpec {
  const char* name;   // results.csv suffix after "_"
  const char* words;  // in figure titles: "per-layer median over heads"
  bool is_mean;       // the oracle maximises the mean over heads, not a quantile
};
inline constexpr MetricSummarySpec kMetricSummaries[] = {
    {"mean", "mean", true}, {"p50", "median", false}, {"p95", "95th percentile", false}, {"min", "minimum", false}};
inline constexpr int kNumSummaries = int(sizeof kMetricSummaries / sizeof kMetricSummaries[0]);

// One past the last id: every id in [0, kNumMetricIds) has a name.
inline constexpr int kNumMetricIds = kFirstSummary + kNumSummaries * kNumHeadMetrics;

namespace metric_table_detail {
constexpr bool rows_in_id_order() {
  for (int i = 0; i < kNumMetrics; ++i)
    if (kMetricTable[i].id != i) return false;
  return true;
}
}  // namespace metric_table_detail
static_assert(metric_table_detail::rows_in_id_order(), "kMetricTable rows must follow the Metric ids");
static_assert(kNumMetrics == kFirstSummary, "every Metric id before kFirstSummary needs a kMetricTable row");

// results.csv name of an id (summaries: "<metric>_<summary>"). Throws
// std::out_of_range for an id outside [0, kNumMetricIds).
std::string metric_name(int metric);

// What a metric is, as the figures describe it.
struct MetricDescription {
  std::string name;
  std::string title;
  std::string axis_label;
  bool unit_interval;
  bool log_scale;
  Better better;
  bool oracle_is_ceiling;
  std::string oracle_note;
};

// The description of a results.csv metric name; summaries are derived from
// their base metric. An unknown name gets a neutral description: its own name
// as label, no clipping, linear axis, no claim about the oracle.
MetricDescription describe_metric(const std::string& name);

}  // namespace kvsim
