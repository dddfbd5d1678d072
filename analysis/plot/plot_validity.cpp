// Offline metric vs real damage (output of `kvsim evaluate`): one point per
// (policy, budget) item, x = the item's mean offline metric (results.csv),
// y = its mean next-token KL(p_full || p_compressed) (evaluate.csv), one
// colour per policy, each policy's budgets joined in budget order.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "analysis/metric_table.hpp"
#include "analysis/plot/corpus_curves.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/plot/policy_colors.hpp"
#include "analysis/rank_statistics.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

PlotFiles plot_validity(const ValidityPlotOptions& o) {
  const auto ev = analysis::CsvTable::read(o.evaluate);
  const auto res = analysis::CsvTable::read(o.results);
  // item "policy@budget" -> KL (position -1)
  std::map<std::string, double> kl;
  for (std::size_t r = 0; r < ev.rows(); ++r)
    if (ev.number(r, ev.column("position")) == -1 && ev.text(r, ev.column("metric")) == "kl")
      kl[ev.text(r, ev.column("policy")) + "@" + ev.text(r, ev.column("budget"))] = ev.number(r, ev.column("value"));
  if (kl.empty()) throw InputError(o.evaluate + ": no 'kl' rows at position -1 (written by kvsim evaluate)");
  // evaluate writes one run's results.csv beside its evaluate.csv; rows of
  // several dumps (a sweep's file put there) would be pooled into each point
  const std::set<std::string> dumps = dumps_in(res);
  if (dumps.size() > 1)
    throw InputError(o.results + " holds " + std::to_string(dumps.size()) +
                     " dumps; plot validity takes the results.csv kvsim evaluate wrote beside evaluate.csv");
  // per-head metrics: rows of head >= 0; layer-level ones: head -1
  bool per_head = false;
  for (std::size_t r = 0; r < res.rows() && !per_head; ++r)
    per_head = res.text(r, res.column("metric")) == o.metric && res.number(r, res.column("head")) >= 0;
  std::map<std::string, std::pair<double, long>> x;
  std::map<std::string, std::map<double, std::string>> by_policy;  // policy -> budget -> item
  for (std::size_t r = 0; r < res.rows(); ++r) {
    if (res.text(r, res.column("metric")) != o.metric || (res.number(r, res.column("head")) >= 0) != per_head) continue;
    const std::string policy = res.text(r, res.column("policy")), budget = res.text(r, res.column("budget"));
    auto& a = x[policy + "@" + budget];
    a.first += res.number(r, res.column("value"));
    a.second += 1;
    by_policy[policy][res.number(r, res.column("budget"))] = policy + "@" + budget;
  }
  if (x.empty()) throw InputError(o.results + ": no '" + o.metric + "' rows");

  std::vector<double> xs, ys;
  int dropped = 0;
  GnuplotFigure fig(1150, 700);
  std::vector<std::string> plots;
  for (const auto& [policy, items] : by_policy) {
    std::ostringstream dat;
    for (const auto& [budget, item] : items) {
      if (!kl.count(item)) throw InputError(o.evaluate + ": no KL for " + item + " of " + o.results);
      const double y = kl.at(item), mean = x.at(item).first / x.at(item).second;
      if (!(y > 0)) {  // keeps everything: KL 0, no point on a log axis
        ++dropped;
        continue;
      }
      dat << mean << " " << y << "\n";
      xs.push_back(mean);
      ys.push_back(y);
    }
    if (dat.str().empty()) continue;
    const std::string f = fig.data("policy" + std::to_string(plots.size()), dat.str());
    plots.push_back(f + " using 1:2 with linespoints lw 1.6 pt 7 ps 1.3 lc rgb '" + policy_color(policy) +
                    "' title " + gp_quote(policy));
  }
  if (plots.empty()) throw InputError(o.evaluate + ": every item keeps the whole context (KL 0): nothing to draw");
  const MetricDescription described = describe_metric(o.metric);
  std::ostringstream title;
  title << std::fixed << std::setprecision(2) << "Offline " << o.metric << " vs next-token KL\n"
        << xs.size() << " (policy, budget) items" << (dropped ? ", " + std::to_string(dropped) + " keeping all left out" : "")
        << "; Spearman ρ " << analysis::spearman(xs, ys) << ", Pearson r (log KL) "
        << analysis::pearson(xs, analysis::guarded_log(ys));
  std::ostringstream gp;
  gp << "set title " << gp_quote(o.figure.title.empty() ? title.str() : o.figure.title) << "\n"
     << "set xlabel " << gp_quote(described.axis_label + " (item mean)") << "\n"
     << "set ylabel " << gp_quote("mean next-token KL(full ‖ compressed), nats") << "\n"
     << "set logscale y\nset key outside right top Left reverse\n"
     << "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n     " : "") << plots[i];
  gp << "\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir, o.figure.name.empty() ? "validity" : o.figure.name);
}

}  // namespace kvsim::plot
