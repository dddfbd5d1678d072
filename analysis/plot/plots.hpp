#pragma once
// The figures of `kvsim plot` (DESIGN §6). Each reads only CSV files (a
// results.csv from replay/sweep, or the CSVs of `kvsim analyze`) so a figure
// can be redrawn without replaying, and writes <out_dir>/<name>.png + .svg.
// Errors: InputError naming the file (missing column, empty CSV, no matching
// rows); UsageError for an ambiguous selection (several dumps/blocks).
#include <optional>
#include <string>

#include "analysis/plot/gnuplot_figure.hpp"
#include "analysis/metric_table.hpp"
#include "analysis/plot/results_names.hpp"

namespace kvsim::plot {

struct FigureOptions {
  std::string out_dir = ".";
  std::string name;   // file base name; "" = the kind's default
  std::string title;  // "" = generated from dump and model
  std::string model;  // "" = from run.json / analyze.json beside the input
};

struct CurveOptions {
  std::string results;  // results.csv
  std::string metric;   // "" = attn_recall (recall) / layer_out_err (layer-error)
  std::optional<std::string> dump;
  std::optional<int> block;
  // Which policies get a p5–p95 band: "auto" (all when <= 3 policies, else the
  // best non-oracle one), "all", "none", or a comma-separated list.
  std::string bands = "auto";
  FigureOptions figure;
};

// Mean over (layer, query head) of `metric` vs budget ratio, one line per
// policy (oracle dashed, `full` omitted), shaded p5–p95 band over heads.
PlotFiles plot_recall(const CurveOptions& options);
// Mean over layers of the layer-level metric (M5) vs budget ratio, log y,
// p5–p95 band over layers.
PlotFiles plot_layer_error(const CurveOptions& options);

struct HeatmapOptions {
  std::string results;
  std::string metric;  // "" = attn_recall
  std::string policy;
  std::string budget;  // "0.1" (< 1: matched against budget_ratio) or "512" (tokens)
  std::optional<std::string> dump;
  std::optional<int> block;
  FigureOptions figure;
};
// Layer x query-head image of `metric` for one policy and budget.
PlotFiles plot_heatmap(const HeatmapOptions& options);

struct PcaPlotOptions {
  std::string points;  // pca_points.csv (pca.csv beside it adds explained variance to the axes)
  int layer = 0;
  int kv_head = 0;
  FigureOptions figure;
};
// Context keys in the plane of their two leading principal components, point
// size growing with attention received; kept vs evicted when the file has a
// `kept` column.
PlotFiles plot_pca(const PcaPlotOptions& options);

struct DiversityPlotOptions {
  std::string bins;   // correlation_bins.csv
  std::string stats;  // correlation.csv
  int layer = -1;     // layer whose pooled bins are drawn; -1 = pooled over all layers
  FigureOptions figure;
};
// Left: mean attention received per decile of each key score (log y),
// KeyDiff distinctiveness beside K-norm. Right: per-layer mean Spearman rho.
PlotFiles plot_diversity(const DiversityPlotOptions& options);

struct ValidityPlotOptions {
  std::string evaluate;  // evaluate.csv
  std::string results;   // results.csv beside it
  std::string metric = "attn_recall";
  FigureOptions figure;
};
// One point per (policy, budget) of `kvsim evaluate`: the item's mean offline
// metric vs its mean next-token KL (log y), one colour per policy.
PlotFiles plot_validity(const ValidityPlotOptions& options);

}  // namespace kvsim::plot
