// nb_recall_curves — a literate analysis program ("notebook").
//
// ============================================================================
// Question
// ============================================================================
// How much of the attention that the future queries pay does each eviction
// policy keep, from a tiny cache (1% of the context) to half of it — and how
// far is the best query-agnostic policy from the oracle, which sees the
// future and is the exact optimum of mean attention-mass recall?
//
// Run:  build/nb_recall_curves [--dump D] [--out DIR] [--budgets 0.01,...,0.5] [--block 128]
// Out:  DIR/report.md, summary.json, results.csv (+ run.json), recall.png/.svg,
//       layer_error.png/.svg, heatmap.png/.svg
#include <cmath>
#include <iostream>
#include <numeric>

#include "analysis/plot/results_names.hpp"
#include "analysis/plot/plots.hpp"
#include "notebooks_cpp/notebook_support.hpp"

using namespace kvsim;
using namespace kvsim::notebook;

namespace {

// The reference budget (the nearest one swept): the heatmap is drawn there,
// and "how much memory does a policy need to match the oracle" is asked there.
constexpr double kReferenceBudget = 0.1;

// Area under the recall curve on a log budget axis, divided by the axis'
// length: the mean recall over the swept range where every doubling of the
// budget weighs the same. (On a linear axis the large budgets, where all
// policies are near 1, would dominate.) One budget: its recall.
double log_budget_area(const std::vector<double>& ratios, const std::vector<double>& recall) {
  if (ratios.size() == 1) return recall[0];
  double area = 0;
  for (std::size_t b = 1; b < ratios.size(); ++b)
    area += 0.5 * (recall[b] + recall[b - 1]) * std::log(ratios[b] / ratios[b - 1]);
  return area / std::log(ratios.back() / ratios.front());
}

// The budget ratio at which a recall curve first reaches `target`,
// interpolated linearly in log budget between the swept points; nullopt when
// it stays below within the sweep.
std::optional<double> budget_reaching(const std::vector<double>& ratios, const std::vector<double>& recall,
                                      double target) {
  if (recall[0] >= target) return ratios[0];
  for (std::size_t b = 1; b < ratios.size(); ++b)
    if (recall[b] >= target) {
      const double f = (target - recall[b - 1]) / (recall[b] - recall[b - 1]);
      return ratios[b - 1] * std::pow(ratios[b] / ratios[b - 1], f);
    }
  return std::nullopt;
}

struct BestAtBudget {
  std::string policy;
  double recall = NAN, oracle = NAN;
};

// The highest mean recall among the non-oracle policies at budget b.
BestAtBudget best_non_oracle(const PolicyBudgetGrid& recall, std::size_t b) {
  BestAtBudget best;
  best.oracle = recall.at(plot::kPolicyOracle, b);
  for (std::size_t p = 0; p < recall.policies.size(); ++p) {
    if (recall.policies[p] == plot::kPolicyOracle) continue;
    if (best.policy.empty() || recall.value[p][b] > best.recall) {
      best.policy = recall.policies[p];
      best.recall = recall.value[p][b];
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  Notebook notebook("recall_curves",
                    "attention-mass recall of every policy across budgets, with the oracle as the ceiling");
  ReplayKnobs knobs;
  knobs.add_to(notebook.options());
  return notebook.run(argc, argv, [&](Notebook& nb) {
    // ==========================================================================
    // Method
    // ==========================================================================
    // One sweep replays every policy at every budget with block prompt
    // processing (block B: the cache is refilled block by block and each
    // policy re-scores cache ∪ block, as KeyDiff and kvpress' BlockPress do).
    // The budget N is the number of context tokens kept per KV head.
    // `full` is left out: it keeps everything, so its recall is 1 by
    // definition. The oracle ranks context keys by the attention the future
    // queries will pay them — the exact optimum of mean M1 at a per-head
    // budget, hence the ceiling; the other policies never see the future.
    //   M1 (attention-mass recall) per (layer, query head, future query t):
    //   the share of t's full attention that falls on tokens still cached;
    //   averaged over t, then over every (layer, query head) here.
    std::vector<PolicySpec> policies;
    for (auto& p : nb.runnable_policies("all"))
      if (p.name != plot::kPolicyFull) policies.push_back(std::move(p));
    const SweepSpec spec = make_sweep_spec(policies, knobs.budgets, knobs.block);
    SweepResult result = nb.sweep(spec);
    const std::string results = nb.write_results(result);
    const PolicyBudgetGrid recall = mean_by_policy_and_budget(result, spec.budgets, kAttnRecall);
    const std::size_t n_budgets = recall.budget_ratios.size();
    if (std::find(recall.policies.begin(), recall.policies.end(), plot::kPolicyOracle) == recall.policies.end())
      throw InputError("the sweep has no oracle rows");

    // ==========================================================================
    // Result
    // ==========================================================================
    // (1) The best non-oracle policy at each budget and its distance to the oracle.
    std::vector<BestAtBudget> best(n_budgets);
    std::map<std::string, int> budgets_won;
    for (std::size_t b = 0; b < n_budgets; ++b) {
      best[b] = best_non_oracle(recall, b);
      ++budgets_won[best[b].policy];
    }
    std::string most_wins;
    for (const auto& [policy, wins] : budgets_won)
      if (most_wins.empty() || wins > budgets_won[most_wins]) most_wins = policy;
    std::size_t widest_gap = 0;
    for (std::size_t b = 1; b < n_budgets; ++b)
      if (best[b].oracle - best[b].recall > best[widest_gap].oracle - best[widest_gap].recall) widest_gap = b;

    // (2) One number per policy: the area under its recall curve.
    std::vector<std::pair<double, std::string>> area_ranking;
    for (std::size_t p = 0; p < recall.policies.size(); ++p)
      area_ranking.push_back({log_budget_area(recall.budget_ratios, recall.value[p]), recall.policies[p]});
    std::sort(area_ranking.rbegin(), area_ranking.rend());
    std::string area_leader;  // the best non-oracle policy by area
    double area_leader_area = NAN, oracle_area = NAN;
    for (const auto& [area, policy] : area_ranking) {
      if (policy == plot::kPolicyOracle) oracle_area = area;
      else if (area_leader.empty()) area_leader = policy, area_leader_area = area;
    }

    // (3) Memory: how large a cache each policy needs to match what the
    // oracle keeps at the reference budget (~10%).
    std::size_t reference = 0;
    for (std::size_t b = 1; b < n_budgets; ++b)
      if (std::abs(std::log(recall.budget_ratios[b] / kReferenceBudget)) <
          std::abs(std::log(recall.budget_ratios[reference] / kReferenceBudget)))
        reference = b;
    const double oracle_at_reference = best[reference].oracle;
    const double oracle_ratio = recall.budget_ratios[reference];

    // Figures come from results.csv alone (the `kvsim plot` functions), so
    // they can be redrawn without replaying: the recall curves with the
    // spread over heads shaded for the area leader; the layer output error
    // (M5) when the dump has o_proj; and where, layer by layer and head by
    // head, the best policy at the reference budget keeps or loses recall.
    plot::FigureOptions figure;
    figure.out_dir = nb.out_dir();
    figure.model = nb.attrs().model;
    plot::CurveOptions curves;
    curves.results = results;
    curves.bands = area_leader;
    curves.figure = figure;
    curves.figure.name = "recall";
    nb.log("drawing the recall curves");
    const plot::PlotFiles recall_png = plot::plot_recall(curves);
    std::optional<plot::PlotFiles> layer_error_png;
    if (nb.dump().has_o_proj()) {
      curves.figure.name = "layer_error";
      nb.log("drawing the layer-error curves");
      layer_error_png = plot::plot_layer_error(curves);
    }
    const BestAtBudget& reference_best = best[reference];
    plot::HeatmapOptions heatmap;
    heatmap.results = results;
    heatmap.policy = reference_best.policy;
    heatmap.budget = std::to_string(recall.budget_tokens[reference]);
    heatmap.figure = figure;
    heatmap.figure.name = "heatmap";
    nb.log("drawing the layer x head heatmap of " + reference_best.policy);
    const plot::PlotFiles heatmap_png = plot::plot_heatmap(heatmap);

    const std::string verdict =
        most_wins + " is the best non-oracle policy at " + std::to_string(budgets_won[most_wins]) + " of " +
        std::to_string(n_budgets) + " budgets; by area under the recall curve the best is " + area_leader + " (" +
        fixed(area_leader_area) + " vs the oracle's " + fixed(oracle_area) + "). At " + budget_label(recall, reference) + " the best policy (" + reference_best.policy + ") keeps " +
        fixed(100 * reference_best.recall, 1) + "% of the future queries' attention mass, the oracle " +
        fixed(100 * reference_best.oracle, 1) +
        "%. The gap to the oracle is widest at " + budget_label(recall, widest_gap) + " (" +
        fixed(100 * (best[widest_gap].oracle - best[widest_gap].recall), 1) + " points).";

    MarkdownReport report("Attention-mass recall across budgets");
    std::vector<std::string> budget_labels;
    for (std::size_t b = 0; b < n_budgets; ++b) budget_labels.push_back(budget_label(recall, b));
    report.paragraph("**Dump:** " + nb.describe_dump() + ". **Budgets:** " + join_words(budget_labels) +
                     " context tokens per KV head (N = ⌊ratio·C⌋). **Block:** " + std::to_string(knobs.block) +
                     " (block prompt processing). **Metric:** M1, the share of each future query's full "
                     "attention that falls on cached tokens, mean over future queries, layers and query heads.");
    report.section("Verdict").paragraph(verdict);

    report.section("Mean M1 per policy and budget");
    std::vector<std::string> header = {"policy"};
    header.insert(header.end(), recall.budget_names.begin(), recall.budget_names.end());
    header.push_back("area (log budget)");
    std::vector<std::vector<std::string>> rows;
    for (const auto& [area, policy] : area_ranking) {
      const int p = recall.policy_index(policy);
      std::vector<std::string> row = {policy == plot::kPolicyOracle ? "oracle (ceiling)" : policy};
      for (std::size_t b = 0; b < n_budgets; ++b) {
        const bool bold = policy == best[b].policy;
        row.push_back((bold ? "**" : "") + fixed(recall.value[p][b]) + (bold ? "**" : ""));
      }
      row.push_back(fixed(area));
      rows.push_back(row);
    }
    report.table(header, rows);
    report.paragraph("Rows are ranked by the area under the recall curve on a log budget axis (the mean "
                     "recall over the swept range, each doubling of the budget weighted equally); bold = best "
                     "non-oracle policy at that budget.");

    report.section("Best policy per budget and the gap to the oracle");
    std::vector<std::vector<std::string>> best_rows;
    for (std::size_t b = 0; b < n_budgets; ++b)
      best_rows.push_back({budget_label(recall, b), best[b].policy, fixed(best[b].recall), fixed(best[b].oracle),
                           fixed(best[b].oracle - best[b].recall)});
    report.table({"budget", "best non-oracle policy", "its M1", "oracle M1", "gap"}, best_rows);

    report.section("Memory needed to match the oracle at " + recall.budget_names[reference]);
    std::vector<std::vector<std::string>> memory_rows;
    nlohmann::json memory_json = nlohmann::json::object();
    for (const auto& [area, policy] : area_ranking) {
      if (policy == plot::kPolicyOracle) continue;
      const auto needed =
          budget_reaching(recall.budget_ratios, recall.value[recall.policy_index(policy)], oracle_at_reference);
      memory_rows.push_back({policy, needed ? fixed(100 * *needed, 1) + "%" : "> " + recall.budget_names.back(),
                             needed ? fixed(*needed / oracle_ratio, 1) + "×" : "—"});
      memory_json[policy] = needed ? nlohmann::json(*needed) : nlohmann::json(nullptr);
    }
    report.table({"policy", "budget (N/C) for mean M1 ≥ " + fixed(oracle_at_reference), "× the oracle's memory"},
                 memory_rows);
    report.paragraph("The oracle reaches M1 = " + fixed(oracle_at_reference) + " at " +
                     budget_label(recall, reference) + "; a policy's budget is interpolated linearly in log "
                     "budget between the swept points.");

    report.section("Figures");
    report.figure("Mean attention-mass recall vs budget (oracle dashed), p5–p95 band over heads for " +
                      area_leader,
                  recall_png);
    nlohmann::json summary;
    if (layer_error_png) {
      const PolicyBudgetGrid layer_error = mean_by_policy_and_budget(result, spec.budgets, kLayerOutErr);
      std::string lowest;
      for (std::size_t p = 0; p < layer_error.policies.size(); ++p)
        if (layer_error.policies[p] != plot::kPolicyOracle &&
            (lowest.empty() || layer_error.value[p][reference] < layer_error.at(lowest, reference)))
          lowest = layer_error.policies[p];
      report.figure("Layer output error (M5, through o_proj) vs budget", *layer_error_png);
      report.paragraph("At " + budget_label(layer_error, reference) + " the lowest non-oracle mean M5 is " +
                       lowest + "'s (" + fixed(layer_error.at(lowest, reference)) + "; the recall-optimal oracle: " +
                       fixed(layer_error.at(plot::kPolicyOracle, reference)) +
                       "); nb_laprox_vs_headwise compares M5 at equal memory.");
      for (std::size_t p = 0; p < layer_error.policies.size(); ++p)
        summary["mean_layer_out_err"][layer_error.policies[p]] = layer_error.value[p];
    }
    report.figure("M1 per layer and query head: " + reference_best.policy + " at " + budget_label(recall, reference),
                  heatmap_png);
    nb.write_report(report);

    summary["block"] = knobs.block;
    for (std::size_t b = 0; b < n_budgets; ++b)
      summary["budgets"].push_back({{"name", recall.budget_names[b]},
                                    {"ratio", recall.budget_ratios[b]},
                                    {"tokens", recall.budget_tokens[b]}});
    for (std::size_t p = 0; p < recall.policies.size(); ++p)
      summary["mean_attn_recall"][recall.policies[p]] = recall.value[p];
    for (std::size_t b = 0; b < n_budgets; ++b)
      summary["best_per_budget"].push_back({{"policy", best[b].policy}, {"attn_recall", best[b].recall},
                                            {"oracle", best[b].oracle}, {"gap", best[b].oracle - best[b].recall}});
    for (const auto& [area, policy] : area_ranking)
      summary["area_ranking"].push_back({{"policy", policy}, {"area", area}});
    summary["memory_to_match_oracle"] = {{"reference_budget", recall.budget_names[reference]},
                                         {"oracle_attn_recall", oracle_at_reference},
                                         {"budget_ratio_needed", memory_json}};
    summary["heatmap"] = {{"policy", reference_best.policy}, {"budget_tokens", recall.budget_tokens[reference]}};
    summary["verdict"] = verdict;
    nb.write_summary(summary);

    std::cout << "recall_curves on " << nb.describe_dump() << ", block " << knobs.block << "\n";
    for (std::size_t b = 0; b < n_budgets; ++b)
      std::cout << "  " << budget_label(recall, b) << ": best " << best[b].policy << " M1 " << fixed(best[b].recall)
                << ", oracle " << fixed(best[b].oracle) << "\n";
    std::cout << "  " << verdict << "\n  report: " << nb.out_path(kReportFile) << "\n";
  });
}
