// layer x head heatmap of a per-head metric for one policy and budget.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

#include "analysis/plot/plots.hpp"
#include "analysis/plot/results_selection.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

namespace {

// "512" -> the rows at 512 tokens. "0.1" (a ratio, DESIGN §2) -> the rows
// whose budget_ratio is nearest to 0.1: results.csv stores the realised ratio
// floor(0.1 C)/C, which sits below the requested one by less than 1/C.
int resolve_budget_tokens(const std::vector<ResultRow>& rows, const std::string& budget,
                          const std::string& path) {
  char* end = nullptr;
  const double v = std::strtod(budget.c_str(), &end);
  if (budget.empty() || *end != '\0' || v <= 0)
    throw UsageError("--budget '" + budget + "': expected a ratio in (0, 1) or a token count");
  std::map<int, double> available;  // tokens -> ratio
  for (const auto& r : rows) available[r.budget] = r.budget_ratio;
  std::string listing;
  for (const auto& [tokens, ratio] : available)
    listing += (listing.empty() ? "" : ", ") + std::to_string(tokens) + " (" +
               std::to_string(ratio).substr(0, 6) + ")";
  if (v >= 1) {
    if (available.count(int(std::lround(v)))) return int(std::lround(v));
  } else {
    int best = -1;
    for (const auto& [tokens, ratio] : available)
      if (best < 0 || std::abs(ratio - v) < std::abs(available[best] - v)) best = tokens;
    if (best >= 0 && std::abs(available[best] - v) <= 0.25 * v) return best;
  }
  throw InputError(path + ": no rows at budget " + budget + "; budgets present (tokens (ratio)): " +
                   listing);
}

}  // namespace

PlotFiles plot_heatmap(const HeatmapOptions& o) {
  if (o.policy.empty()) throw UsageError("heatmap needs --policy");
  if (o.budget.empty()) throw UsageError("heatmap needs --budget");
  const auto table = analysis::CsvTable::read(o.results);
  const std::string metric = o.metric.empty() ? metric_name(kAttnRecall) : o.metric;
  std::map<std::pair<int, int>, double> cell;
  int n_layers = 0, n_heads = 0;
  std::string dump;
  int block = 0, budget_tokens = 0;
  double ratio = 0;
  std::vector<ResultRow> rows;
  for (auto& r : select_results(table, {metric, false, o.dump, o.block}))
    if (r.policy == o.policy) rows.push_back(std::move(r));
  if (rows.empty())
    throw InputError(o.results + ": no '" + metric + "' rows for policy '" + o.policy + "'");
  const int wanted_tokens = resolve_budget_tokens(rows, o.budget, o.results);
  for (const auto& r : rows) {
    if (r.budget != wanted_tokens) continue;
    if (!cell.emplace(std::make_pair(r.layer, r.head), r.value).second)
      throw InputError(o.results + ": several '" + metric + "' rows for policy " + o.policy +
                       ", layer " + std::to_string(r.layer) + ", head " + std::to_string(r.head));
    n_layers = std::max(n_layers, r.layer + 1);
    n_heads = std::max(n_heads, r.head + 1);
    dump = r.dump;
    block = r.block;
    budget_tokens = r.budget;
    ratio = r.budget_ratio;
  }
  if (cell.empty())
    throw InputError(o.results + ": no '" + metric + "' rows for policy '" + o.policy +
                     "' at budget " + o.budget);

  // matrix rows = layers (y), columns = heads (x); missing cells are NaN
  std::ostringstream dat;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int l = 0; l < n_layers; ++l) {
    for (int h = 0; h < n_heads; ++h) {
      auto it = cell.find({l, h});
      if (it == cell.end()) {
        dat << (h ? " " : "") << "NaN";
        continue;
      }
      dat << (h ? " " : "") << it->second;
      lo = std::min(lo, it->second);
      hi = std::max(hi, it->second);
    }
    dat << "\n";
  }
  if (hi <= lo) hi = lo + 1e-6;

  const int width = std::clamp(300 + 34 * n_heads, 950, 1400);
  const int height = std::clamp(220 + 30 * n_layers, 520, 1100);
  GnuplotFigure fig(width, height);
  const std::string file = fig.data("heatmap", dat.str());
  const std::string model = o.figure.model.empty() ? model_beside(o.results) : o.figure.model;
  std::ostringstream budget_text;
  budget_text.precision(3);
  budget_text << o.policy << " at " << budget_tokens << " tokens (" << ratio * 100 << "%), block "
              << block;
  const MetricDescription described = describe_metric(metric);
  const std::string title = o.figure.title.empty() ? described.title + " per head: " + budget_text.str() +
                                                         "\n" + dump_and_model(dump, model)
                                                   : o.figure.title;
  std::ostringstream gp;
  gp << "set title " << gp_quote(title) << "\n"
     << "set xlabel 'query head'\nset ylabel 'layer'\n"
     << "set cblabel " << gp_quote(described.axis_label) << "\n"
     << "unset grid\nunset key\nset tics out\nset view map\n"
     << "set style fill solid 1.0 noborder\n"  // the shared transparent fill would fade the colour box
     << "set xrange [-0.5:" << n_heads - 0.5 << "]\nset yrange [-0.5:" << n_layers - 0.5 << "]\n"
     << "set xtics " << (n_heads > 16 ? 4 : n_heads > 8 ? 2 : 1) << "\n"
     << "set ytics " << (n_layers > 16 ? 4 : n_layers > 8 ? 2 : 1) << "\n"
     << "set cbrange [" << lo << ":" << hi << "]\n"
     // viridis: perceptually uniform, colour-blind safe, prints in grey
     << "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n"
     << "plot " << file << " matrix with image pixels\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir, o.figure.name.empty() ? "heatmap" : o.figure.name);
}

}  // namespace kvsim::plot
