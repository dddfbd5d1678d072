// PCA scatter of one KV head's context keys (output of `kvsim analyze --pca`).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <set>

#include "analysis/analyze_dump.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/plot/results_selection.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"

namespace kvsim::plot {

namespace {

// "PC1 (23.4% of variance)" from pca.csv beside the points, when present.
std::string axis_label(const std::string& points_path, int layer, int kv_head, int component) {
  const std::string label = "PC" + std::to_string(component) + " coordinate (key units";
  const auto summary =
      std::filesystem::path(points_path).parent_path() / analysis::kPcaFile;
  if (!std::filesystem::exists(summary)) return label + ")";
  const auto t = analysis::CsvTable::read(summary.string(), false);
  if (!t.has_column("metric") || !t.has_column("value") || !t.has_column("layer") ||
      !t.has_column("kv_head") || !t.has_column("set"))
    return label + ")";
  const std::string wanted = "explained_ratio_pc" + std::to_string(component);
  const auto c_metric = t.column("metric"), c_value = t.column("value"), c_layer = t.column("layer"),
             c_head = t.column("kv_head"), c_set = t.column("set");
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (t.text(r, c_metric) == wanted && t.text(r, c_set) == "context" &&
        t.number(r, c_layer) == layer && t.number(r, c_head) == kv_head) {
      std::ostringstream s;
      s.precision(3);
      s << label << ", " << t.number(r, c_value) * 100 << "% of variance)";
      return s.str();
    }
  return label + ")";
}

}  // namespace

PlotFiles plot_pca(const PcaPlotOptions& o) {
  const auto t = analysis::CsvTable::read(o.points);
  const auto c_dump = t.column("dump"), c_layer = t.column("layer"), c_head = t.column("kv_head"),
             c_pc1 = t.column("pc1"), c_pc2 = t.column("pc2"), c_att = t.column("attention");
  const bool has_kept = t.has_column("kept");
  struct Point {
    double x, y, attention;
    bool kept;
  };
  // A corpus's gathered points hold every dump's PCA (each in its own
  // basis): drawn together they would be meaningless.
  std::set<std::string> dumps;
  for (std::size_t r = 0; r < t.rows(); ++r) dumps.insert(t.text(r, c_dump));
  if (dumps.size() > 1)
    throw UsageError(o.points + " holds " + std::to_string(dumps.size()) +
                     " dumps; plot pca draws one: use a corpus analysis's per_dump/<index>/ folder");
  std::vector<Point> points;
  std::string dump, policy, budget;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.number(r, c_layer) != o.layer || t.number(r, c_head) != o.kv_head) continue;
    const bool kept = has_kept && t.number(r, t.column("kept")) != 0;
    points.push_back({t.number(r, c_pc1), t.number(r, c_pc2), t.number(r, c_att), kept});
    dump = t.text(r, c_dump);
    if (has_kept && t.has_column("policy")) policy = t.text(r, t.column("policy"));
    if (has_kept && t.has_column("budget")) budget = t.text(r, t.column("budget"));
  }
  if (points.empty())
    throw InputError(o.points + ": no points for layer " + std::to_string(o.layer) + ", kv_head " +
                     std::to_string(o.kv_head));

  // Point size grows linearly with attention received (0.6 to 3.2), saturating at the 99th
  // percentile so one attention sink does not shrink every other point to
  // nothing; a floor keeps unattended keys visible.
  std::vector<double> att;
  for (const auto& p : points) att.push_back(p.attention);
  const double cap = std::max(quantile(att, 0.99), 1e-30);
  auto size = [&](double a) { return 0.6 + 2.6 * std::min(1.0, std::max(0.0, a) / cap); };

  std::ostringstream kept_dat, evicted_dat;
  for (const auto& p : points)
    (p.kept ? kept_dat : evicted_dat) << p.x << " " << p.y << " " << size(p.attention) << "\n";
  GnuplotFigure fig(900, 800);
  const std::string model = o.figure.model.empty() ? model_beside(o.points) : o.figure.model;
  std::string title = o.figure.title;
  if (title.empty()) {
    title = "Context keys, layer " + std::to_string(o.layer) + " KV head " + std::to_string(o.kv_head) +
            " — " + dump_and_model(dump, model);
    if (has_kept) title += "\nkept set: " + policy + " at budget " + budget;
  }
  std::ostringstream gp;
  gp << "set title " << gp_quote(title) << "\n"
     << "set xlabel " << gp_quote(axis_label(o.points, o.layer, o.kv_head, 1)) << "\n"
     << "set ylabel " << gp_quote(axis_label(o.points, o.layer, o.kv_head, 2)) << "\n"
     << "set key top right Left reverse\nset size ratio -1\n"
     << "set offsets graph 0.04, graph 0.04, graph 0.04, graph 0.04\n";
  std::vector<std::string> plots;
  const std::string ev = evicted_dat.str(), kp = kept_dat.str();
  if (!ev.empty()) {
    const std::string f = fig.data("evicted", ev);
    plots.push_back(f + " using 1:2:3 with points pt 6 ps variable lw 1.2 lc rgb '#50D55E00' title " +
                    gp_quote(has_kept ? "evicted" : "context key"));
  }
  if (!kp.empty()) {
    const std::string f = fig.data("kept", kp);
    plots.push_back(f + " using 1:2:3 with points pt 7 ps variable lc rgb '#200072B2' title 'kept'");
  }
  plots.push_back("keyentry with points pt 6 ps 0.5 lc rgb '#666666' title 'size ∝ attention received'");
  gp << "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n     " : "") << plots[i];
  gp << "\n";
  fig << gp.str();
  return fig.render(o.figure.out_dir,
                    o.figure.name.empty() ? "pca_l" + std::to_string(o.layer) + "_h" +
                                                std::to_string(o.kv_head)
                                          : o.figure.name);
}

}  // namespace kvsim::plot
