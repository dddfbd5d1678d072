#pragma once
// `kvsim analyze`: runs the PCA and/or correlation analyses over a dump one
// layer at a time and writes their tidy CSVs (docs/ANALYSIS.md) atomically.
// What was analysed (the analyze.json record) is returned, for the caller to
// write with its provenance and warnings (sim/run/run_report.hpp).
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/kept_set_source.hpp"
#include "io/kvdump.hpp"

namespace kvsim::analysis {

// Output file names inside --out (plots look for these names too).
inline constexpr const char* kPcaFile = "pca.csv";
inline constexpr const char* kPcaSpectrumFile = "pca_spectrum.csv";
inline constexpr const char* kPcaPointsFile = "pca_points.csv";
inline constexpr const char* kCorrelationFile = "correlation.csv";
inline constexpr const char* kCorrelationBinsFile = "correlation_bins.csv";
inline constexpr const char* kAnalyzeMetaFile = "analyze.json";

struct AnalyzeOptions {
  bool pca = false;
  bool correlation = false;
  std::vector<int> layers;  // empty = every layer
  int window = 128;         // C = T - window when the dump has no context_len
  int n_bins = 10;          // quantile bins of x (deciles)
  std::optional<KeptSets> kept;  // PCA kept/evicted flags; absent = no kept columns
  std::string out_dir;
};

struct AnalyzeOutcome {
  std::vector<std::string> written;  // the CSVs
  // What analyze.json records of the analysis: the dump (label, attributes,
  // context), the analyses, layers, bins and kept-set labels.
  nlohmann::json record;
};

// `summary` gets a few human-readable lines.
AnalyzeOutcome analyze_dump(const DumpReader& dump, const AnalyzeOptions& options, std::ostream& summary);

}  // namespace kvsim::analysis
