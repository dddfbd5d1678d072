// recall-vs-budget and layer-error-vs-budget: one line per policy over the
// budget ratios of a results.csv, with a p5–p95 band.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "analysis/plot/corpus_curves.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/plot/policy_colors.hpp"
#include "analysis/plot/results_selection.hpp"
#include "io/errors.hpp"
#include "io/tokenizer/utf8.hpp"

namespace kvsim::plot {

namespace {

// What differs between the two kinds of curve figure; wording, axis and
// legend come from the metric (describe_metric).
struct CurveKind {
  Metric default_metric;
  const char* default_name;
  bool layer_level;
  const char* averaged_over;  // "heads" / "layers"
};

// Overlapping bands of many policies turn into a grey wash, so "auto" shades
// every policy only when at most three are drawn, else the best non-oracle
// policy alone (highest mean recall, or lowest mean error).
std::set<std::string> banded_policies(const CurveTable& curves, const std::string& request,
                                      Better better) {
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
      const double score = (better == Better::lower ? -1 : 1) * sum / by_budget.size();
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

// "<axis label>, mean over heads", on two lines when too long for the axis.
std::string ylabel(const MetricDescription& metric, const CurveKind& kind, bool corpus) {
  const std::string over = std::string("mean over ") + kind.averaged_over + (corpus ? " and dumps" : "");
  constexpr std::size_t kFitsOneLine = 52;  // characters; the axis holds ~55 at 650 px
  const std::size_t length = utf8::split_code_points(metric.axis_label + over).size();
  return metric.axis_label + (length > kFitsOneLine ? "\n" : ", ") + over;
}

PlotFiles plot_curves(const CurveOptions& o, const CurveKind& kind) {
  const auto table = analysis::CsvTable::read(o.results);
  const std::string metric = o.metric.empty() ? metric_name(kind.default_metric) : o.metric;
  const MetricDescription described = describe_metric(metric);
  // A corpus (several dumps, none chosen): means over dumps with their 95% intervals.
  std::optional<CorpusCurves> corpus;
  if (!o.dump && dumps_in(table).size() > 1) corpus = corpus_curves(o.results, metric, o.block);
  std::vector<ResultRow> rows;
  if (!corpus) rows = select_results(table, {metric, kind.layer_level, o.dump, o.block});
  CurveTable curves = corpus ? corpus->curves : curves_by_policy(rows);
  curves.erase(kPolicyFull);
  if (curves.empty())
    throw InputError(o.results + ": metric '" + metric + "' has rows only for policy '" +
                     kPolicyFull + "', nothing to compare");

  std::vector<double> ratios;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& [policy, by_budget] : curves)
    for (const auto& [ratio, s] : by_budget) {
      ratios.push_back(ratio);
      lo = std::min({lo, s.p5, s.mean});
      hi = std::max({hi, s.p95, s.mean});
    }
  std::sort(ratios.begin(), ratios.end());
  ratios.erase(std::unique(ratios.begin(), ratios.end()), ratios.end());

  // a long legend (the later presses' labels) must not squeeze the plot
  GnuplotFigure fig(curves.size() > 12 ? 1400 : 1150, 650);
  const std::string model = o.figure.model.empty() ? model_beside(o.results) : o.figure.model;
  const std::string where =
      corpus ? "corpus of n = " + std::to_string(corpus->n_dumps) + " dumps, block " + std::to_string(corpus->block)
             : dump_and_model(rows.front().dump, model) + ", block " + std::to_string(rows.front().block);
  const std::string title = o.figure.title.empty() ? described.title + " vs budget\n" + where : o.figure.title;
  std::ostringstream gp;
  gp << "set title " << gp_quote(title) << "\n"
     << "set xlabel 'KV budget (% of context tokens kept per KV head)'\n"
     << "set ylabel " << gp_quote(ylabel(described, kind, corpus.has_value())) << "\n"
     << "set key outside right top Left reverse spacing 1.15\n";
  const bool log_x = ratios.size() > 1 && ratios.back() / std::max(ratios.front(), 1e-12) >= 5;
  if (log_x) gp << "set logscale x\n";
  gp << budget_tics(ratios);
  if (ratios.size() == 1)
    gp << "set xrange [" << ratios[0] * 50 << ":" << ratios[0] * 150 << "]\n";
  else if (log_x)
    gp << "set xrange [" << ratios.front() * 100 / 1.25 << ":" << ratios.back() * 100 * 1.25 << "]\n";
  if (described.log_scale && lo > 0) {
    // a log axis only when every drawn value (means and band edges) is
    // positive: a zero error would silently vanish from it
    gp << "set logscale y\nset format y '%g'\n"
       << "set yrange [" << lo / 1.3 << ":" << hi * 1.3 << "]\n" << log_tics_125(lo / 1.3, hi * 1.3);
  } else if (described.unit_interval) {
    // fractions: from a round tenth below the data up to 1 (never cutting off a value)
    const double y0 = std::max(0.0, std::floor(lo * 10 - 1e-9) / 10);
    gp << "set yrange [" << std::min(y0, lo) << ":" << std::max(1.005, hi) << "]\n";
  } else if (described.better == Better::lower && lo >= 0) {
    gp << "set yrange [0:*]\n";  // an error: its distance from 0 is what matters
  }

  const std::set<std::string> banded = banded_policies(curves, o.bands, described.better);
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
    const std::string key = oracle && !described.oracle_note.empty() ? policy + " " + described.oracle_note : policy;
    plots.push_back(file + " using 1:2 with linespoints lc rgb '" + color + "' lw 2.2 pt 7 ps 0.9 " +
                    (oracle ? "dt (8,5) " : "") + "title " + gp_quote(key));
  }
  if (!banded.empty()) {
    std::string which;
    for (const auto& p : banded) which += (which.empty() ? "" : ", ") + p;
    plots.push_back("keyentry with filledcurves lc rgb '" +
                    (banded.size() == 1 ? band_color : std::string("#888888")) + "' title " +
                    gp_quote((corpus ? std::string("95% bootstrap interval over dumps: ")
                                     : std::string("p5–p95 over ") + kind.averaged_over + ": ") +
                             which));
  }
  gp << "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n     " : "") << plots[i];
  gp << "\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir, o.figure.name.empty() ? kind.default_name : o.figure.name);
}

}  // namespace

PlotFiles plot_recall(const CurveOptions& o) {
  return plot_curves(o, {kAttnRecall, "recall", false, "heads"});
}

PlotFiles plot_layer_error(const CurveOptions& o) {
  return plot_curves(o, {kLayerOutErr, "layer_error", true, "layers"});
}

}  // namespace kvsim::plot
