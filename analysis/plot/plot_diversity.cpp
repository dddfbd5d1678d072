// KeyDiff's claim at a glance (output of `kvsim analyze --correlation`):
// attention received per score decile, and Spearman rho per layer.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "analysis/diversity_correlation.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/plot/policy_colors.hpp"
#include "analysis/plot/results_selection.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

namespace {

const char* kScores[] = {analysis::kScoreKeyDiff, analysis::kScoreKNorm};
const char* kScoreLegend[] = {"KeyDiff: −cos(k, mean unit key)", "K-norm: −‖k‖"};
// each score in the colour of the policy that keeps by it
const std::string kScoreColor[] = {policy_color("keydiff"), policy_color("knorm")};

}  // namespace

PlotFiles plot_diversity(const DiversityPlotOptions& o) {
  const auto bins = analysis::CsvTable::read(o.bins);
  const auto stats = analysis::CsvTable::read(o.stats);
  const auto b_dump = bins.column("dump"), b_score = bins.column("score"),
             b_layer = bins.column("layer"), b_head = bins.column("head"), b_bin = bins.column("bin"),
             b_y = bins.column("y_mean");
  const auto s_score = stats.column("score"), s_layer = stats.column("layer"),
             s_head = stats.column("head"), s_metric = stats.column("metric"),
             s_value = stats.column("value");

  // A corpus's gathered CSVs hold every dump's rows: drawing them here would
  // silently show whichever dump came last.
  std::set<std::string> dumps;
  for (std::size_t r = 0; r < bins.rows(); ++r) dumps.insert(bins.text(r, b_dump));
  if (dumps.size() > 1)
    throw UsageError(o.bins + " holds " + std::to_string(dumps.size()) +
                     " dumps; plot diversity draws one: use a corpus analysis's per_dump/<index>/ folder "
                     "(its summary over dumps is correlation_corpus.csv)");

  // Left panel: pooled bins of the chosen layer (head -1).
  std::map<std::string, std::map<int, double>> decile_y;
  double y_lo = std::numeric_limits<double>::infinity(), y_hi = 0;
  std::string dump;
  for (std::size_t r = 0; r < bins.rows(); ++r) {
    if (bins.number(r, b_head) != -1 || bins.number(r, b_layer) != o.layer) continue;
    const double y = bins.number(r, b_y);
    decile_y[bins.text(r, b_score)][int(bins.number(r, b_bin))] = y;
    if (y > 0) {
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
    dump = bins.text(r, b_dump);
  }
  if (decile_y.empty())
    throw InputError(o.bins + ": no pooled bins (head -1) for layer " + std::to_string(o.layer) +
                     (o.layer == -1 ? " (-1 = all layers)" : ""));

  // Right panel: per-layer mean rho; pooled numbers for the subtitle.
  std::map<std::string, std::map<int, double>> layer_rho;
  std::map<std::string, double> pooled_rho, pooled_share;
  for (std::size_t r = 0; r < stats.rows(); ++r) {
    if (stats.number(r, s_head) != -1) continue;
    const std::string metric = stats.text(r, s_metric), score = stats.text(r, s_score);
    const int layer = int(stats.number(r, s_layer));
    const double v = stats.number(r, s_value);
    if (metric == "spearman_rho_mean" && layer >= 0) layer_rho[score][layer] = v;
    if (layer == -1 && metric == "spearman_rho_mean") pooled_rho[score] = v;
    if (layer == -1 && metric == "share_rho_positive") pooled_share[score] = v;
  }
  if (layer_rho.empty())
    throw InputError(o.stats + ": no per-layer 'spearman_rho_mean' rows (head -1)");
  int n_layers = 0;
  for (const auto& [score, by_layer] : layer_rho)
    for (const auto& [layer, v] : by_layer) n_layers = std::max(n_layers, layer + 1);

  GnuplotFigure fig(1400, 620);
  const std::string model = o.figure.model.empty() ? model_beside(o.stats) : o.figure.model;
  std::ostringstream title;
  title << std::fixed << std::setprecision(2);
  if (o.figure.title.empty()) {
    title << "Does distinctiveness predict attention? — " << dump_and_model(dump, model) << "\n";
    for (int s = 0; s < 2; ++s)
      if (pooled_rho.count(kScores[s]))
        title << (s ? ";  " : "pooled Spearman ρ: ") << kScores[s] << " " << pooled_rho[kScores[s]]
              << " (" << std::setprecision(0) << pooled_share[kScores[s]] * 100
              << std::setprecision(2) << "% of heads > 0)";
  } else {
    title << o.figure.title;
  }

  std::ostringstream gp;
  gp << "set multiplot layout 1,2 title " << gp_quote(title.str()) << " font ',16'\n";

  // left
  std::vector<std::string> left;
  for (int s = 0; s < 2; ++s) {
    auto it = decile_y.find(kScores[s]);
    if (it == decile_y.end()) continue;
    std::ostringstream dat;
    for (const auto& [bin, y] : it->second) dat << bin + 1 << " " << y << "\n";
    const std::string f = fig.data(std::string("bins_") + kScores[s], dat.str());
    left.push_back(f + " using 1:2 with linespoints lw 2.2 pt 7 ps 1.1 lc rgb '" + kScoreColor[s] +
                   "' title " + gp_quote(kScoreLegend[s]));
  }
  const std::size_t n_bins = decile_y.begin()->second.size();
  gp << "set title " << gp_quote(o.layer == -1 ? "attention per score bin, all layers"
                                               : "attention per score bin, layer " +
                                                     std::to_string(o.layer))
     << "\n"
     << "set xlabel " << gp_quote("score " + std::string(n_bins == 10 ? "decile" : "bin") +
                                  " (1 = lowest … " + std::to_string(n_bins) + " = highest score)")
     << "\n"
     << "set ylabel 'mean attention received per key (probability)'\n"
     << "set logscale y\nset xrange [0.5:" << n_bins + 0.5 << "]\nset xtics 1\n";
  if (y_hi > 0) {
    // tight range; 1-2-5 tics so a sub-decade spread still gets numbers
    const double lo = y_lo / 1.4, hi = y_hi * 1.4;
    gp << "set yrange [" << lo << ":" << hi << "]\n" << log_tics_125(lo, hi);
  }
  gp
     << "set key top left Left reverse\n"
     << "plot ";
  for (std::size_t i = 0; i < left.size(); ++i) gp << (i ? ", \\\n     " : "") << left[i];
  gp << "\n";

  // right
  gp << "unset logscale y\nset format y '%g'\n"
     << "set title 'Spearman ρ per layer (mean over query heads)'\n"
     << "set xlabel 'layer'\nset ylabel 'Spearman ρ'\n"
     << "set yrange [-1:1]\nset xrange [-0.6:" << n_layers - 0.4 << "]\n"
     << "set xtics " << (n_layers > 16 ? 4 : n_layers > 8 ? 2 : 1) << "\n"
     << "unset mytics\nset ytics 0.5\nset key top right Left reverse\nset xzeroaxis lt -1 lw 1\nset boxwidth 0.38\n"
     << "plot ";
  bool first = true;
  for (int s = 0; s < 2; ++s) {
    auto it = layer_rho.find(kScores[s]);
    if (it == layer_rho.end()) continue;
    std::ostringstream dat;
    for (const auto& [layer, rho] : it->second) dat << layer + (s ? 0.2 : -0.2) << " " << rho << "\n";
    const std::string f = fig.data(std::string("rho_") + kScores[s], dat.str());
    gp << (first ? "" : ", \\\n     ") << f << " using 1:2 with boxes fs solid 0.85 noborder lc rgb '"
       << kScoreColor[s] << "' title " << gp_quote(kScores[s]);
    first = false;
  }
  gp << "\nunset multiplot\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir, o.figure.name.empty() ? "diversity" : o.figure.name);
}

}  // namespace kvsim::plot
