// KeyDiff's claim at a glance (output of `kvsim analyze --correlation`):
// attention received per score decile, and Spearman rho per layer; on a
// corpus analysis's gathered CSVs, means over dumps with 95% intervals.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "analysis/bootstrap.hpp"
#include "analysis/diversity_correlation.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/plot/policy_colors.hpp"
#include "analysis/plot/results_selection.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

using analysis::MeanWithInterval;

namespace {

const char* kScores[] = {analysis::kScoreKeyDiff, analysis::kScoreKNorm};
const char* kScoreLegend[] = {"KeyDiff: −cos(k, mean unit key)", "K-norm: −‖k‖"};
// each score in the colour of the policy that keeps by it
const std::string kScoreColor[] = {policy_color("keydiff"), policy_color("knorm")};

// Per-dump values of one quantity (a bin's mean attention, a layer's rho),
// in the order the dumps appear; one dump gives one value.
using PerDump = std::vector<double>;

MeanWithInterval summarise(const PerDump& values, std::uint64_t stream) {
  // Fixed seed: a figure's band is the same on every redraw (analysis's own
  // intervals use the run's --seed; a plot has no seed of its own).
  return analysis::bootstrap_mean(values, 0x6B76'7369'6D00ULL + stream);
}

}  // namespace

PlotFiles plot_diversity(const DiversityPlotOptions& o) {
  const auto bins = analysis::CsvTable::read(o.bins);
  const auto stats = analysis::CsvTable::read(o.stats);
  const auto b_dump = bins.column("dump"), b_score = bins.column("score"),
             b_layer = bins.column("layer"), b_head = bins.column("head"), b_bin = bins.column("bin"),
             b_y = bins.column("y_mean");
  const auto s_dump = stats.column("dump"), s_score = stats.column("score"), s_layer = stats.column("layer"),
             s_head = stats.column("head"), s_metric = stats.column("metric"),
             s_value = stats.column("value");

  // A corpus analysis's gathered CSVs hold every dump's rows: each point is
  // then the mean over dumps with its 95% bootstrap interval (a band on the
  // left, error bars on the right). A value listed twice for one dump would
  // be counted twice: refused.
  std::vector<std::string> dumps;
  std::set<std::string> seen_dumps;
  // (dump, score, bin) and (dump, score, metric, layer) already read
  std::set<std::tuple<std::string, std::string, int>> seen_bins;
  std::set<std::tuple<std::string, std::string, std::string, int>> seen_rho;
  std::map<std::string, std::map<int, PerDump>> bin_y;  // score -> bin -> per dump
  double y_lo = std::numeric_limits<double>::infinity(), y_hi = 0;
  for (std::size_t r = 0; r < bins.rows(); ++r) {
    const std::string dump = bins.text(r, b_dump);
    if (seen_dumps.insert(dump).second) dumps.push_back(dump);
    if (bins.number(r, b_head) != -1 || bins.number(r, b_layer) != o.layer) continue;
    const int bin = int(bins.number(r, b_bin));
    if (!seen_bins.insert({dump, bins.text(r, b_score), bin}).second)
      throw InputError(o.bins + ": bin " + std::to_string(bin) + " of score '" + bins.text(r, b_score) +
                       "' appears twice for dump '" + dump + "'");
    const double y = bins.number(r, b_y);
    if (!std::isfinite(y)) continue;  // an empty bin: that dump says nothing there
    bin_y[bins.text(r, b_score)][bin].push_back(y);
    if (y > 0) {
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  if (bin_y.empty())
    throw InputError(o.bins + ": no pooled bins (head -1) for layer " + std::to_string(o.layer) +
                     (o.layer == -1 ? " (-1 = all layers)" : ""));
  const bool corpus = dumps.size() > 1;

  // Right panel: per-layer mean rho; pooled numbers for the subtitle.
  std::map<std::string, std::map<int, PerDump>> layer_rho;
  std::map<std::string, PerDump> pooled_rho, pooled_share;
  for (std::size_t r = 0; r < stats.rows(); ++r) {
    if (stats.number(r, s_head) != -1) continue;
    const std::string metric = stats.text(r, s_metric), score = stats.text(r, s_score);
    const int layer = int(stats.number(r, s_layer));
    const double v = stats.number(r, s_value);
    if (metric != "spearman_rho_mean" && metric != "share_rho_positive") continue;
    if (!seen_dumps.count(stats.text(r, s_dump)))
      throw InputError(o.stats + ": dump '" + stats.text(r, s_dump) + "' is not in " + o.bins +
                       " (the two files come from different analyses)");
    if (!seen_rho.insert({stats.text(r, s_dump), score, metric, layer}).second)
      throw InputError(o.stats + ": '" + metric + "' of score '" + score + "', layer " + std::to_string(layer) +
                       " appears twice for dump '" + stats.text(r, s_dump) + "'");
    if (!std::isfinite(v)) continue;  // no head with a defined rho (as correlation_corpus.csv skips it)
    if (metric == "spearman_rho_mean" && layer >= 0) layer_rho[score][layer].push_back(v);
    if (layer == -1 && metric == "spearman_rho_mean") pooled_rho[score].push_back(v);
    if (layer == -1 && metric == "share_rho_positive") pooled_share[score].push_back(v);
  }
  if (layer_rho.empty())
    throw InputError(o.stats + ": no per-layer 'spearman_rho_mean' rows (head -1)");
  int n_layers = 0;
  for (const auto& [score, by_layer] : layer_rho)
    for (const auto& [layer, v] : by_layer) n_layers = std::max(n_layers, layer + 1);

  // Every point as (mean, interval); one dump: its value, no interval.
  std::uint64_t stream = 0;
  std::map<std::string, std::map<int, MeanWithInterval>> bin_mean, rho_mean;
  if (corpus) {  // the axis spans the means and their bands, not each dump's extremes
    y_lo = std::numeric_limits<double>::infinity();
    y_hi = 0;
  }
  for (const auto& [score, by_bin] : bin_y)
    for (const auto& [bin, values] : by_bin) {
      const MeanWithInterval m = summarise(values, ++stream);
      bin_mean[score][bin] = m;
      if (!corpus) continue;
      for (double y : {m.mean, m.n > 1 ? m.ci_lo : m.mean, m.n > 1 ? m.ci_hi : m.mean})
        if (y > 0) {
          y_lo = std::min(y_lo, y);
          y_hi = std::max(y_hi, y);
        }
    }
  for (const auto& [score, by_layer] : layer_rho)
    for (const auto& [layer, values] : by_layer) rho_mean[score][layer] = summarise(values, ++stream);
  const std::string dump = dumps.front();

  GnuplotFigure fig(1400, 620);
  const std::string model = o.figure.model.empty() ? model_beside(o.stats) : o.figure.model;
  std::ostringstream title;
  title << std::fixed << std::setprecision(2);
  if (o.figure.title.empty()) {
    title << "Does distinctiveness predict attention? — "
          << (corpus ? "corpus of n = " + std::to_string(dumps.size()) + " dumps" +
                           (model.empty() ? "" : " (" + model + ")")
                     : dump_and_model(dump, model))
          << "\n";
    for (int s = 0; s < 2; ++s) {
      if (!pooled_rho.count(kScores[s])) continue;
      const MeanWithInterval rho = summarise(pooled_rho[kScores[s]], ++stream);
      const MeanWithInterval share = summarise(pooled_share[kScores[s]], ++stream);
      title << (s ? (corpus ? "\n" : ";  ") : corpus ? "pooled Spearman ρ, mean over dumps [95% interval]: " : "pooled Spearman ρ: ")
            << kScores[s] << " " << rho.mean;
      if (corpus && rho.n > 1) title << " [" << rho.ci_lo << ", " << rho.ci_hi << "]";
      if (share.n > 0)
        title << " (" << std::setprecision(0) << share.mean * 100 << std::setprecision(2) << "% of heads > 0)";
    }
  } else {
    title << o.figure.title;
  }

  std::ostringstream gp;
  gp << "set multiplot layout 1,2 title " << gp_quote(title.str()) << " font ',16'\n";

  // left
  std::vector<std::string> left;
  for (int s = 0; s < 2; ++s) {
    if (!bin_mean.count(kScores[s])) continue;
    std::ostringstream dat;
    for (const auto& [bin, m] : bin_mean[kScores[s]])
      dat << bin + 1 << " " << m.mean << " " << (m.n > 1 ? m.ci_lo : m.mean) << " " << (m.n > 1 ? m.ci_hi : m.mean)
          << "\n";
    const std::string f = fig.data(std::string("bins_") + kScores[s], dat.str());
    if (corpus)
      left.push_back(f + " using 1:3:4 with filledcurves fs transparent solid 0.22 noborder lc rgb '" +
                     kScoreColor[s] + "' notitle");
    left.push_back(f + " using 1:2 with linespoints lw 2.2 pt 7 ps 1.1 lc rgb '" + kScoreColor[s] +
                   "' title " + gp_quote(kScoreLegend[s]));
  }
  const std::size_t n_bins = bin_mean.begin()->second.size();
  gp << "set title " << gp_quote((o.layer == -1 ? std::string("attention per score bin, all layers")
                                                : "attention per score bin, layer " + std::to_string(o.layer)) +
                                 (corpus ? " (95% band)" : ""))
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
     << "set title " << gp_quote(corpus ? "Spearman ρ per layer (95% interval over dumps)"
                                        : "Spearman ρ per layer (mean over query heads)")
     << "\n"
     << "set xlabel 'layer'\nset ylabel 'Spearman ρ'\n"
     << "set yrange [-1:1]\nset xrange [-0.6:" << n_layers - 0.4 << "]\n"
     << "set xtics " << (n_layers > 16 ? 4 : n_layers > 8 ? 2 : 1) << "\n"
     << "unset mytics\nset ytics 0.5\nset key top right Left reverse\nset xzeroaxis lt -1 lw 1\nset boxwidth 0.38\n"
     << "plot ";
  bool first = true;
  for (int s = 0; s < 2; ++s) {
    auto it = rho_mean.find(kScores[s]);
    if (it == rho_mean.end()) continue;
    std::ostringstream dat;
    for (const auto& [layer, m] : it->second)
      dat << layer + (s ? 0.2 : -0.2) << " " << m.mean << " " << (m.n > 1 ? m.ci_lo : m.mean) << " "
          << (m.n > 1 ? m.ci_hi : m.mean) << "\n";
    const std::string f = fig.data(std::string("rho_") + kScores[s], dat.str());
    gp << (first ? "" : ", \\\n     ") << f << " using 1:2 with boxes fs solid 0.85 noborder lc rgb '"
       << kScoreColor[s] << "' title " << gp_quote(kScores[s]);
    if (corpus) gp << ", \\\n     " << f << " using 1:3:(0):($4-$3) with vectors nohead lc rgb '#333333' lw 1.4 notitle";
    first = false;
  }
  gp << "\nunset multiplot\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir, o.figure.name.empty() ? "diversity" : o.figure.name);
}

}  // namespace kvsim::plot
