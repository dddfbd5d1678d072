#pragma once
// Names in results.csv that the figures single out, besides the metrics
// (analysis/metric_table.hpp): the special policies and the file itself.
namespace kvsim::plot {

inline constexpr const char* kPolicyOracle = "oracle";  // drawn dashed black
inline constexpr const char* kPolicyFull = "full";      // perfect by definition; not drawn

inline constexpr const char* kResultsFile = "results.csv";

}  // namespace kvsim::plot
