#pragma once
// Names that results.csv (written by the replay engine, DESIGN §4/§6) uses for
// its metrics and special policies. The plots refer to them only through
// these constants, so a rename on the engine side is a one-line change here.
// (Current names: sim/sweep.cpp metric_name(); per-head metrics also appear
// summarised per layer at head -1 as <name>_mean/_p50/_p95/_min, which the
// plots ignore.)
namespace kvsim::plot {

inline constexpr const char* kMetricAttnRecall = "attn_recall";               // M1
inline constexpr const char* kMetricTopkRecall = "topk_recall";               // M2
inline constexpr const char* kMetricOracleGap = "oracle_gap";                 // M3
inline constexpr const char* kMetricHeadOutputError = "head_out_err";         // M4
inline constexpr const char* kMetricLayerOutputError = "layer_out_err";       // M5, head -1
inline constexpr const char* kMetricKeptFraction = "kept_fraction";

inline constexpr const char* kPolicyOracle = "oracle";  // drawn dashed, as the ceiling
inline constexpr const char* kPolicyFull = "full";      // recall 1 by definition; not drawn

inline constexpr const char* kResultsFile = "results.csv";

}  // namespace kvsim::plot
