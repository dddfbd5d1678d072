#pragma once
// Names that results.csv (written by the replay engine, DESIGN §4/§6) uses for
// its metrics and special policies, and what each metric is: the one table the
// figures take their wording, axis range and legend from. The plots refer to
// metrics only through these, so a rename on the engine side is a one-line
// change here. (Current names: sim/engine/sweep.cpp metric_name(); per-head metrics
// also appear summarised per layer at head -1 as <name>_mean/_p50/_p95/_min.)
#include <string>

namespace kvsim::plot {

inline constexpr const char* kMetricAttnRecall = "attn_recall";               // M1
inline constexpr const char* kMetricTopkRecall = "topk_recall";               // M2
inline constexpr const char* kMetricOracleGap = "oracle_gap";                 // M3
inline constexpr const char* kMetricHeadOutputError = "head_out_err";         // M4
inline constexpr const char* kMetricLayerOutputError = "layer_out_err";       // M5, head -1
inline constexpr const char* kMetricKeptFraction = "kept_fraction";

inline constexpr const char* kPolicyOracle = "oracle";  // drawn dashed black
inline constexpr const char* kPolicyFull = "full";      // perfect by definition; not drawn

inline constexpr const char* kResultsFile = "results.csv";

enum class Better { higher, lower, neither };

struct MetricDescription {
  std::string name;
  std::string title;       // "Attention-mass recall" (figure titles)
  std::string axis_label;  // "attention-mass recall (fraction)" (y axis, colour box)
  bool unit_interval;      // every value lies in [0, 1]: the axis may be clipped to it
  bool log_scale;          // positive and spanning decades: log axis when every value is > 0
  Better better;
  // Whether the oracle's curve is an upper bound of every policy's (it
  // maximises this metric's mean, DESIGN §3), and the legend note after
  // "oracle": "(ceiling)" only then.
  bool oracle_is_ceiling;
  std::string oracle_note;
};

// The description of a results.csv metric; "<metric>_mean/_p50/_p95/_min"
// (per-layer summaries) are derived from their base metric. An unknown name
// gets a neutral description: its own name as label, no clipping, linear
// axis, no claim about the oracle.
MetricDescription describe_metric(const std::string& name);

}  // namespace kvsim::plot
