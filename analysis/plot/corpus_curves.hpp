#pragma once
// The budget curves of a corpus: when results.csv holds several dumps and no
// --dump narrows it, the recall and layer-error figures draw each policy's
// mean over dumps with its 95% bootstrap interval, from the aggregate.csv
// written beside it (analysis/corpus_aggregate.hpp; layer −1: each dump's
// mean over its layers).
#include <optional>
#include <set>
#include <string>

#include "analysis/plot/results_selection.hpp"

namespace kvsim::plot {

struct CorpusCurves {
  CurveTable curves;  // Spread: mean, p5 := ci_lo, p95 := ci_hi, n = dumps
  int n_dumps = 0;
  int block = 0;
};

// The dump labels of results.csv.
std::set<std::string> dumps_in(const analysis::CsvTable& results);

// From DIR/aggregate.csv beside `results_path`. InputError naming the file
// when it is missing or holds no row of `metric` at layer −1; UsageError when
// it holds several block sizes and `block` is unset, or only token budgets
// (a curve over dumps needs budgets that mean the same fraction of each).
CorpusCurves corpus_curves(const std::string& results_path, const std::string& metric, std::optional<int> block);

}  // namespace kvsim::plot
