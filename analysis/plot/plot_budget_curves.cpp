// recall-vs-budget and layer-error-vs-budget: one line per policy over the
// budget ratios of a results.csv, with a p5–p95 band.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "analysis/plot/plots.hpp"
#include "analysis/plot/policy_colors.hpp"
#include "analysis/plot/results_selection.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

namespace {

struct CurveStyle {
  const char* default_metric;
  const char* default_name;
  bool layer_level;
  const char* title;
  const char* ylabel;
  const char* band_label;
  bool log_y;
  const char* oracle_note;
  bool lower_is_better;
};

// Overlapping bands of many policies turn into a grey wash, so "auto" shades
// every policy only when at most three are drawn, else the best non-oracle
// policy alone (highest mean recall, or lowest mean error).
std::set<std::string> banded_policies(const CurveTable& curves, const std::string& request,
                                      bool lower_is_better) {
  std::set<std::string> out;
  if (request == "none") return out;
  if (request == "all" || (request == "auto" && curves.size() <= 3)) {
    for (const auto& [policy, by_budget] : curves) out.insert(policy);
    return out;
  }
  if (request == "auto") {
    std::string best;
    double best_score = 0;
    for (const auto& [policy, by_budget] : curves) {
      if (policy == kPolicyOracle) continue;
      double sum = 0;
      for (const auto& [ratio, s] : by_budget) sum += s.mean;
      const double score = (lower_is_better ? -1 : 1) * sum / by_budget.size();
      if (best.empty() || score > best_score) {
        best = policy;
        best_score = score;
      }
    }
    if (!best.empty()) out.insert(best);
    return out;
  }
  std::stringstream list(request);
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) {
      if (!curves.count(item))
        throw UsageError("--bands: policy '" + item + "' is not in the plotted results");
      out.insert(item);
    }
  return out;
}

std::string percent_label(double ratio) {
  std::ostringstream s;
  s.precision(3);
  s << ratio * 100;
  return s.str();
}

// Explicit tics at the budgets that were run (if few), otherwise gnuplot's.
std::string budget_tics(const std::vector<double>& ratios) {
  if (ratios.size() > 12) return "";
  std::string tics = "set xtics (";
  for (std::size_t i = 0; i < ratios.size(); ++i)
    tics += (i ? ", " : "") + gp_tic_label(percent_label(ratios[i])) + " " +
            std::to_string(ratios[i] * 100);
  return tics + ")\n";
}

PlotFiles plot_curves(const CurveOptions& o, const CurveStyle& style) {
  const auto table = analysis::CsvTable::read(o.results);
  const std::string metric = o.metric.empty() ? style.default_metric : o.metric;
  const auto rows = select_results(table, {metric, style.layer_level, o.dump, o.block});
  CurveTable curves = curves_by_policy(rows);
  curves.erase(kPolicyFull);
  if (curves.empty())
    throw InputError(o.results + ": metric '" + metric + "' has rows only for policy '" +
                     kPolicyFull + "', nothing to compare");

  std::vector<double> ratios;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& [policy, by_budget] : curves)
    for (const auto& [ratio, s] : by_budget) {
      ratios.push_back(ratio);
      lo = std::min(lo, s.p5);
      hi = std::max(hi, s.p95);
    }
  std::sort(ratios.begin(), ratios.end());
  ratios.erase(std::unique(ratios.begin(), ratios.end()), ratios.end());

  GnuplotFigure fig(1150, 650);
  const std::string model = o.figure.model.empty() ? model_beside(o.results) : o.figure.model;
  const std::string title = o.figure.title.empty()
                                ? std::string(style.title) + "\n" +
                                      dump_and_model(rows.front().dump, model) + ", block " +
                                      std::to_string(rows.front().block)
                                : o.figure.title;
  std::ostringstream gp;
  gp << "set title " << gp_quote(title) << "\n"
     << "set xlabel 'KV budget (% of context tokens kept per KV head)'\n"
     << "set ylabel " << gp_quote(style.ylabel) << "\n"
     << "set key outside right top Left reverse spacing 1.15\n";
  const bool log_x = ratios.size() > 1 && ratios.back() / std::max(ratios.front(), 1e-12) >= 5;
  if (log_x) gp << "set logscale x\n";
  gp << budget_tics(ratios);
  if (ratios.size() == 1)
    gp << "set xrange [" << ratios[0] * 50 << ":" << ratios[0] * 150 << "]\n";
  else if (log_x)
    gp << "set xrange [" << ratios.front() * 100 / 1.25 << ":" << ratios.back() * 100 * 1.25 << "]\n";
  if (style.log_y) {
    // a tight log range: errors span a decade or two, not the autoscaled four
    const double y_lo = std::max(lo, hi * 1e-4);
    gp << "set logscale y\nset format y '%g'\n";
    if (y_lo > 0 && hi > 0) {
      gp << "set yrange [" << y_lo / 1.3 << ":" << hi * 1.3 << "]\n" << log_tics_125(y_lo / 1.3, hi * 1.3);
    }
  } else {
    // recall-like: fractions, capped at 1; start at a round tenth below the data
    const double y0 = std::max(0.0, std::floor(lo * 10 - 1e-9) / 10);
    gp << "set yrange [" << y0 << ":1.005]\n";
  }

  const std::set<std::string> banded = banded_policies(curves, o.bands, style.lower_is_better);
  std::vector<std::string> plots;
  std::string band_color;
  for (const auto& [policy, by_budget] : curves) {
    std::ostringstream dat;
    for (const auto& [ratio, s] : by_budget)
      dat << ratio * 100 << " " << s.mean << " " << s.p5 << " " << s.p95 << "\n";
    const std::string file = fig.data("curve" + std::to_string(plots.size()), dat.str());
    const bool oracle = policy == kPolicyOracle;
    const std::string color = policy_color(policy);
    if (banded.count(policy)) band_color = color;
    if (banded.count(policy))
      plots.push_back(file + " using 1:3:4 with filledcurves lc rgb '" + color + "' notitle");
    plots.push_back(file + " using 1:2 with linespoints lc rgb '" + color + "' lw 2.2 pt 7 ps 0.9 " +
                    (oracle ? "dt (8,5) " : "") + "title " +
                    gp_quote(oracle ? policy + " " + style.oracle_note : policy));
  }
  if (!banded.empty()) {
    std::string which;
    for (const auto& p : banded) which += (which.empty() ? "" : ", ") + p;
    plots.push_back("keyentry with filledcurves lc rgb '" +
                    (banded.size() == 1 ? band_color : std::string("#888888")) + "' title " +
                    gp_quote(std::string(style.band_label) + ": " + which));
  }
  gp << "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n     " : "") << plots[i];
  gp << "\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir, o.figure.name.empty() ? style.default_name : o.figure.name);
}

}  // namespace

PlotFiles plot_recall(const CurveOptions& o) {
  static const CurveStyle style{kMetricAttnRecall,
                                "recall",
                                false,
                                "Attention-mass recall vs budget",
                                "attention-mass recall (fraction, mean over heads)",
                                "p5–p95 over heads",
                                false,
                                "(ceiling)",
                                false};
  return plot_curves(o, style);
}

PlotFiles plot_layer_error(const CurveOptions& o) {
  static const CurveStyle style{kMetricLayerOutputError,
                                "layer_error",
                                true,
                                "Layer output error vs budget",
                                "layer output error ‖y−ŷ‖/‖y‖",
                                "p5–p95 over layers",
                                true,
                                "(recall-optimal)",
                                true};
  return plot_curves(o, style);
}

}  // namespace kvsim::plot
