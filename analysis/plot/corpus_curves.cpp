#include "analysis/plot/corpus_curves.hpp"

#include <algorithm>
#include <filesystem>

#include "io/errors.hpp"

namespace kvsim::plot {

std::set<std::string> dumps_in(const analysis::CsvTable& results) {
  std::set<std::string> dumps;
  const std::size_t c = results.column("dump");
  for (std::size_t r = 0; r < results.rows(); ++r) dumps.insert(results.text(r, c));
  return dumps;
}

CorpusCurves corpus_curves(const std::string& results_path, const std::string& metric, std::optional<int> block) {
  const std::string path = (std::filesystem::path(results_path).parent_path() / "aggregate.csv").string();
  if (!std::filesystem::exists(path))
    throw InputError(results_path + " holds several dumps and " + path +
                     " is missing: rerun the sweep (it writes aggregate.csv), or choose one dump with --dump");
  const auto t = analysis::CsvTable::read(path);
  t.require_columns({"policy", "budget", "block", "layer", "metric", "n_dumps", "mean", "ci_lo", "ci_hi"});
  const auto c_policy = t.column("policy"), c_budget = t.column("budget"), c_block = t.column("block"),
             c_layer = t.column("layer"), c_metric = t.column("metric"), c_n = t.column("n_dumps"),
             c_mean = t.column("mean"), c_lo = t.column("ci_lo"), c_hi = t.column("ci_hi");
  std::set<int> blocks;
  bool token_budgets = false;
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (t.text(r, c_metric) == metric && t.number(r, c_layer) == -1) blocks.insert(int(t.number(r, c_block)));
  if (blocks.empty()) throw InputError(path + ": no row of metric '" + metric + "' over all layers (layer -1)");
  if (!block && blocks.size() > 1) {
    std::string list;
    for (int b : blocks) list += (list.empty() ? "" : ", ") + std::to_string(b);
    throw UsageError(path + " holds several block sizes (" + list + "); choose one with --block");
  }
  CorpusCurves out;
  out.block = block ? *block : *blocks.begin();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.text(r, c_metric) != metric || t.number(r, c_layer) != -1 || int(t.number(r, c_block)) != out.block)
      continue;
    const std::string& budget = t.text(r, c_budget);
    if (budget.find_first_of(".eE") == std::string::npos) {
      token_budgets = true;  // a token count: a different fraction of each dump's context
      continue;
    }
    Spread s;
    s.mean = t.number(r, c_mean);
    s.p5 = t.number(r, c_lo);
    s.p95 = t.number(r, c_hi);
    s.n = static_cast<std::size_t>(t.number(r, c_n));
    out.n_dumps = std::max(out.n_dumps, static_cast<int>(s.n));
    out.curves[t.text(r, c_policy)][t.number(r, c_budget)] = s;
  }
  if (out.curves.empty() && token_budgets)
    throw UsageError(path + ": the corpus ran token budgets only; a curve over dumps needs ratio budgets "
                            "(--budgets 0.05,0.1,...), or choose one dump with --dump");
  if (out.curves.empty())
    throw InputError(path + ": no row of metric '" + metric + "' at block " + std::to_string(out.block));
  return out;
}

}  // namespace kvsim::plot
