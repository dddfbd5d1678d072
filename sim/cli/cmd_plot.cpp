// kvsim plot KIND: figures from CSVs alone (results.csv of replay/sweep, or
// the CSVs of kvsim analyze), PNG + SVG via gnuplot. docs/ANALYSIS.md lists
// every kind and how to redraw it.
#include <filesystem>
#include <iostream>
#include <optional>

#include "analysis/analyze_dump.hpp"
#include "analysis/plot/figure_name.hpp"
#include "analysis/plot/plots.hpp"
#include "io/errors.hpp"
#include "sim/cli/options.hpp"

namespace kvsim::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKinds = "recall, layer-error, heatmap, pca, diversity, validity";

// --in may name the CSV itself or the directory holding it under its default name.
std::string input_file(const std::string& in, const char* default_name) {
  if (in.empty()) throw UsageError("--in is required (a CSV file or the directory holding " +
                                   std::string(default_name) + ")");
  if (fs::is_directory(in)) return (fs::path(in) / default_name).string();
  return in;
}

std::string beside(const std::string& file, const char* name) {
  return (fs::path(file).parent_path() / name).string();
}

}  // namespace

int cmd_plot(const Args& args) {
  std::string kind, in, metric, dump, policy, budget, bands = "auto";
  int block = 0, layer = -1, head = 0;
  plot::FigureOptions fig;
  fig.out_dir.clear();
  po::options_description desc("plot options");
  desc.add_options()
      ("kind", po::value(&kind)->required(), kKinds)
      ("in,i", po::value(&in), "input CSV, or the directory holding it under its default name "
                               "(results.csv / pca_points.csv / correlation_bins.csv)")
      ("out,o", po::value(&fig.out_dir), "output directory (default: the input's directory)")
      ("name", po::value(&fig.name), "output base name (default: the kind, pca_l<L>_h<G> for pca)")
      ("title", po::value(&fig.title), "figure title (default: names the dump and model)")
      ("model", po::value(&fig.model), "model name for the title (default: from run.json/analyze.json)")
      ("metric", po::value(&metric), "recall/heatmap: per-head metric (default attn_recall); "
                                     "layer-error: layer metric (default layer_out_err); validity: the offline metric (default attn_recall)")
      ("dump", po::value(&dump), "results.csv holding several dumps: which one")
      ("block", po::value(&block), "results.csv holding several block sizes: which one")
      ("bands", po::value(&bands)->default_value(bands),
       "recall/layer-error: policies with a p5-p95 band: auto (all if <= 3, else the best), all, none, or a list")
      ("policy", po::value(&policy), "heatmap: policy")
      ("budget", po::value(&budget), "heatmap: budget, ratio (0.1) or tokens (512)")
      ("layer", po::value(&layer), "pca: layer (default 0); diversity: layer of the bins (default -1 = all)")
      ("head", po::value(&head), "pca: KV head (default 0)");
  po::positional_options_description positional;
  positional.add("kind", 1);
  po::variables_map vm;
  if (!parse_options("plot", "KIND --in CSV|DIR [--out DIR] [options]   (KIND: " + std::string(kKinds) + ")",
                     args, desc, vm, &positional))
    return 0;
  if (vm.count("name")) plot::check_figure_name(fig.name, "--name");
  const std::optional<std::string> dump_filter =
      vm.count("dump") ? std::optional<std::string>(dump) : std::nullopt;
  const std::optional<int> block_filter = vm.count("block") ? std::optional<int>(block) : std::nullopt;
  auto with_out_dir = [&](const std::string& input) {
    if (fig.out_dir.empty()) fig.out_dir = fs::path(input).parent_path().string();
    if (fig.out_dir.empty()) fig.out_dir = ".";
    return fig;
  };

  plot::PlotFiles files;
  if (kind == "recall" || kind == "layer-error") {
    plot::CurveOptions o;
    o.results = input_file(in, plot::kResultsFile);
    o.metric = metric;
    o.dump = dump_filter;
    o.block = block_filter;
    o.bands = bands;
    o.figure = with_out_dir(o.results);
    files = kind == "recall" ? plot::plot_recall(o) : plot::plot_layer_error(o);
  } else if (kind == "heatmap") {
    plot::HeatmapOptions o;
    o.results = input_file(in, plot::kResultsFile);
    o.metric = metric;
    o.policy = policy;
    o.budget = budget;
    o.dump = dump_filter;
    o.block = block_filter;
    o.figure = with_out_dir(o.results);
    files = plot::plot_heatmap(o);
  } else if (kind == "pca") {
    plot::PcaPlotOptions o;
    o.points = input_file(in, analysis::kPcaPointsFile);
    o.layer = vm.count("layer") ? layer : 0;
    o.kv_head = head;
    o.figure = with_out_dir(o.points);
    files = plot::plot_pca(o);
  } else if (kind == "validity") {
    plot::ValidityPlotOptions o;
    o.evaluate = input_file(in, "evaluate.csv");
    o.results = beside(o.evaluate, "results.csv");
    if (!metric.empty()) o.metric = metric;
    o.figure = with_out_dir(o.evaluate);
    files = plot::plot_validity(o);
  } else if (kind == "diversity") {
    plot::DiversityPlotOptions o;
    const std::string file = input_file(in, analysis::kCorrelationBinsFile);
    // either CSV may be named; the other one is expected beside it
    const bool named_stats = fs::path(file).filename() == analysis::kCorrelationFile;
    o.bins = named_stats ? beside(file, analysis::kCorrelationBinsFile) : file;
    o.stats = named_stats ? file : beside(file, analysis::kCorrelationFile);
    o.layer = layer;
    o.figure = with_out_dir(file);
    files = plot::plot_diversity(o);
  } else {
    throw UsageError("unknown plot kind '" + kind + "' (choose one of: " + kKinds + ")");
  }
  std::cout << "wrote " << files.png << " and " << files.svg << "\n";
  return 0;
}

}  // namespace kvsim::cli
