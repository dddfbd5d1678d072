#pragma once
// Reading results.csv (DESIGN §6) for the plots: the rows of one metric,
// narrowed to one dump and one block size, and summaries over heads.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/tidy_csv.hpp"

namespace kvsim::plot {

struct ResultRow {
  std::string dump, policy;
  int budget = 0;
  double budget_ratio = 0;
  int block = 0, layer = 0, head = 0;
  double value = 0;
};

struct ResultsFilter {
  std::string metric;
  bool layer_level = false;          // head == -1 rows (else head >= 0)
  std::optional<std::string> dump;   // required when the file holds several dumps
  std::optional<int> block;          // required when the file holds several block sizes
};

// Columns are looked up by name (InputError naming file and column). No
// matching row -> InputError naming the metric and the file. Several dumps or
// block sizes without a filter -> UsageError listing the values to choose from.
std::vector<ResultRow> select_results(const analysis::CsvTable& table, const ResultsFilter& filter);

struct Spread {
  double mean = 0, p5 = 0, p95 = 0;
  std::size_t n = 0;
};
// Linear-interpolation quantile (numpy's default), q in [0, 1].
double quantile(std::vector<double> values, double q);
Spread spread(const std::vector<double>& values);

// policy -> budget_ratio -> spread of the values (over heads, or layers).
using CurveTable = std::map<std::string, std::map<double, Spread>>;
CurveTable curves_by_policy(const std::vector<ResultRow>& rows);

// "dump" (and " · model") for figure titles.
std::string dump_and_model(const std::string& dump, const std::string& model);

// Model name from run.json / analyze.json in the CSV's directory (first string
// value under a key named "model", searched depth-first); "" when none.
std::string model_beside(const std::string& csv_path);

}  // namespace kvsim::plot
