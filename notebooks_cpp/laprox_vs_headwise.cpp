// nb_laprox_vs_headwise — a literate analysis program ("notebook").
//
// ============================================================================
// Question
// ============================================================================
// LaProx scores cache entries by their contribution to the LAYER output
// (through o_proj), in output units that are comparable across heads, and
// lets the KV heads of a layer share one budget. Head-wise policies (keydiff,
// snapkv, h2o) keep N tokens in every KV head. At equal memory — the same
// G·N context tokens per layer — does output-aware, head-adaptive selection
// give a lower layer output error (M5)? And how unevenly does LaProx split
// the layer's budget among its heads?
//
// Run:  build/nb_laprox_vs_headwise [--dump D] [--out DIR] [--budgets 0.01,...,0.5] [--block 128]
// Out:  DIR/report.md, summary.json, results.csv (+ run.json), kept_fractions.csv,
//       layer_error.png/.svg, laprox_allocation.png/.svg
#include <cmath>
#include <iostream>
#include <numeric>

#include "analysis/plot/results_names.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/tidy_csv.hpp"
#include "notebooks_cpp/notebook_support.hpp"

using namespace kvsim;
using namespace kvsim::notebook;

namespace {

constexpr const char* kLaprox = "laprox";
// The head-wise baselines named by the question (DESIGN §3 defaults).
constexpr const char* kPolicies = "laprox,keydiff,snapkv,h2o";

// How unevenly one layer's budget is split among its KV heads.
struct Allocation {
  std::vector<int> kept;  // context tokens kept per KV head
  double min_fraction = 0, max_fraction = 0;  // kept / C
  double cv = 0;  // coefficient of variation of the kept counts (population sd / mean); 0 = uniform
  int total() const { return std::accumulate(kept.begin(), kept.end(), 0); }
};

Allocation allocation_of(const KeptSet& kept, int context_len) {
  Allocation a;
  for (const auto& positions : kept) a.kept.push_back(int(positions.size()));
  const auto [lo, hi] = std::minmax_element(a.kept.begin(), a.kept.end());
  a.min_fraction = double(*lo) / context_len;
  a.max_fraction = double(*hi) / context_len;
  const double mean = double(a.total()) / a.kept.size();
  double var = 0;
  for (int k : a.kept) var += (k - mean) * (k - mean) / a.kept.size();
  a.cv = mean > 0 ? std::sqrt(var) / mean : 0;
  return a;
}

// LaProx's per-KV-head share of the layer budget, relative to the uniform
// split (kept / N: 1 = what a head-wise policy keeps), as a
// (layer, KV head) × budget image with the value printed in every cell.
// Diverging colours centred on 1 so that over- and under-allocated heads
// read at a glance.
plot::PlotFiles plot_allocation(const Notebook& nb, const PolicyBudgetGrid& grid,
                                const std::vector<std::vector<Allocation>>& laprox /*[budget][layer]*/) {
  const int n_budgets = int(laprox.size()), n_layers = int(laprox[0].size());
  const int n_kv = int(laprox[0][0].kept.size()), n_rows = n_layers * n_kv;
  std::ostringstream cells;
  double highest = 2;
  for (int b = 0; b < n_budgets; ++b)
    for (int l = 0; l < n_layers; ++l)
      for (int g = 0; g < n_kv; ++g) {
        const double share = double(laprox[b][l].kept[g]) / grid.budget_tokens[b];
        highest = std::max(highest, share);
        // row 0 at the top: layer 0, KV head 0
        cells << b << " " << n_rows - 1 - (l * n_kv + g) << " " << share << "\n";
      }
  plot::GnuplotFigure fig(std::clamp(420 + 110 * n_budgets, 900, 1500), std::clamp(260 + 48 * n_rows, 520, 1400));
  const std::string data = fig.data("allocation", cells.str());
  std::ostringstream gp;
  gp << "set title " << plot::gp_quote("LaProx: tokens kept per KV head ÷ N (1 = the uniform head-wise split)\n" +
                                       nb.dump_label() + " · " + nb.attrs().model)
     << "\n"
     << "set xlabel 'budget N per KV head (ratio of the context)'\nset ylabel ''\n"
     << "unset grid\nunset key\nset tics out nomirror\nset view map\n"
     << "set style fill solid 1.0 noborder\n"
     << "set xrange [-0.5:" << n_budgets - 0.5 << "]\nset yrange [-0.5:" << n_rows - 0.5 << "]\n"
     << "set cbrange [0:" << highest << "]\nset cblabel 'kept tokens / N'\n"
     << "set palette defined (0 '#2166ac', 0.5 '#92c5de', 1 '#f7f7f7', " << (1 + highest) / 2 << " '#f4a582', "
     << highest << " '#b2182b')\n";
  gp << "set xtics (";
  for (int b = 0; b < n_budgets; ++b) {
    gp << (b ? ", " : "") << plot::gp_tic_label(grid.budget_names[b]) << " " << b;
  }
  gp << ")\nset ytics (";
  for (int l = 0; l < n_layers; ++l)
    for (int g = 0; g < n_kv; ++g)
      gp << (l || g ? ", " : "") << plot::gp_tic_label("layer " + std::to_string(l) + ", KV head " + std::to_string(g))
         << " " << n_rows - 1 - (l * n_kv + g);
  gp << ")\n";
  for (int l = 1; l < n_layers; ++l)  // a rule between layers
    gp << "set arrow from -0.5," << n_rows - l * n_kv - 0.5 << " to " << n_budgets - 0.5 << ","
       << n_rows - l * n_kv - 0.5 << " nohead front lw 2.5 lc rgb '#333333'\n";
  gp << "plot " << data << " using 1:2:3 with image, " << data
     << " using 1:2:(sprintf('%.2f', $3)) with labels font ',12' tc rgb '#111111'\n";
  fig << gp.str();
  return fig.render(nb.out_dir(), "laprox_allocation");
}

}  // namespace

int main(int argc, char** argv) {
  Notebook notebook("laprox_vs_headwise",
                    "layer output error of laprox vs keydiff/snapkv/h2o at equal memory, and laprox's head budgets");
  ReplayKnobs knobs;
  knobs.add_to(notebook.options());
  notebook.exclude_from_corpus({"laprox_allocation"});  // per head / per layer: another model's differ
  return notebook.run(argc, argv, [&](Notebook& nb) {
    // ==========================================================================
    // Method
    // ==========================================================================
    // One sweep replays the four policies at every budget (block prompt
    // processing, block B). Equal memory by construction (DESIGN §2): a
    // head-wise policy keeps N context tokens in each of the G KV heads of a
    // layer; laprox (mode=layer) picks the top G·N entries of the whole layer
    // by output importance, each KV head keeping at least ⌊0.2·N⌋. We keep the
    // final kept sets to check that the totals really are equal and to
    // measure laprox's split.
    //   M5 per layer = mean over future queries t of ‖y_t − ŷ_t‖/‖y_t‖ with
    //   y = W_o·concat_h(o_h) under full attention and ŷ the same with each
    //   head's attention renormalised on its kept set (+ the future tokens);
    //   averaged over layers here.
    //   Non-uniformity per (layer, budget): kept fraction |S_g|/C per KV head,
    //   its min, max and coefficient of variation over the G heads.
    if (!nb.dump().has_o_proj())
      throw InputError(nb.dump().path() + ": no o_proj in the dump; laprox and M5 need it");
    const SweepSpec spec = make_sweep_spec(parse_policy_list(kPolicies), knobs.budgets, knobs.block,
                                           /*keep_sets=*/true);
    const SweepResult result = nb.sweep(spec);
    const std::string results = nb.write_results(result);
    const PolicyBudgetGrid m5 = mean_by_policy_and_budget(result, spec.budgets, kLayerOutErr);
    const std::size_t n_budgets = m5.budget_tokens.size();
    const int n_layers = int(result.layers.size());

    // Kept tokens per (policy, budget, layer) from the kept sets.
    auto allocation = [&](const std::string& policy, std::size_t b, int layer_index) {
      return allocation_of(result.kept[item_index(result, policy, int(b))][layer_index], nb.context_len());
    };
    std::vector<std::vector<Allocation>> laprox(n_budgets);  // [budget][layer index]
    bool equal_memory = true;
    for (std::size_t b = 0; b < n_budgets; ++b)
      for (int li = 0; li < n_layers; ++li) {
        laprox[b].push_back(allocation(kLaprox, b, li));
        for (const auto& policy : m5.policies)
          equal_memory = equal_memory && allocation(policy, b, li).total() == laprox[b][li].total();
      }

    analysis::CsvWriter kept_csv(nb.out_path("kept_fractions.csv"),
                                 {"dump", "policy", "budget", "budget_ratio", "layer", "kv_head", "kept", "kept_fraction"});
    for (std::size_t b = 0; b < n_budgets; ++b)
      for (int li = 0; li < n_layers; ++li)
        for (std::size_t g = 0; g < laprox[b][li].kept.size(); ++g)
          kept_csv.row({nb.dump_label(), kLaprox, std::to_string(m5.budget_tokens[b]),
                        analysis::format_number(m5.budget_ratios[b]), std::to_string(result.layers[li]),
                        std::to_string(g), std::to_string(laprox[b][li].kept[g]),
                        analysis::format_number(double(laprox[b][li].kept[g]) / nb.context_len())});
    kept_csv.commit();

    plot::CurveOptions curves;
    curves.results = results;
    curves.bands = kLaprox;
    curves.figure.out_dir = nb.out_dir();
    curves.figure.model = nb.attrs().model;
    curves.figure.name = "layer_error";
    curves.figure.title = "Layer output error at equal memory (G·N tokens per layer)\n" + nb.dump_label() + " · " +
                          nb.attrs().model + ", block " + std::to_string(knobs.block);
    nb.log("drawing M5 vs budget");
    const plot::PlotFiles layer_error_png = plot::plot_layer_error(curves);
    nb.log("drawing laprox's per-head allocation");
    const plot::PlotFiles allocation_png = plot_allocation(nb, m5, laprox);

    // ==========================================================================
    // Result
    // ==========================================================================
    // Per budget: the lowest M5, and laprox's relative difference to the best
    // head-wise policy (negative = laprox is better).
    std::vector<std::string> winner(n_budgets), best_headwise(n_budgets);
    std::vector<double> laprox_vs_best_headwise(n_budgets);
    std::vector<std::string> laprox_wins;
    for (std::size_t b = 0; b < n_budgets; ++b) {
      for (const auto& policy : m5.policies) {
        if (winner[b].empty() || m5.at(policy, b) < m5.at(winner[b], b)) winner[b] = policy;
        if (policy != kLaprox && (best_headwise[b].empty() || m5.at(policy, b) < m5.at(best_headwise[b], b)))
          best_headwise[b] = policy;
      }
      laprox_vs_best_headwise[b] = m5.at(kLaprox, b) / m5.at(best_headwise[b], b) - 1;
      if (winner[b] == kLaprox) laprox_wins.push_back(m5.budget_names[b]);
    }
    // Non-uniformity per budget: the CV of kept tokens across KV heads, mean
    // over layers. At a few tokens per head the split is coarse by necessity
    // (integer counts), so the report names the budgets where it is most and
    // least uneven rather than one overall number.
    std::vector<double> mean_cv(n_budgets, 0);
    for (std::size_t b = 0; b < n_budgets; ++b)
      for (int li = 0; li < n_layers; ++li) mean_cv[b] += laprox[b][li].cv / n_layers;
    const auto [least_uneven, most_uneven] = std::minmax_element(mean_cv.begin(), mean_cv.end());
    auto unevenness = [](double cv) {
      return cv < 0.1 ? "close to uniform" : cv < 0.3 ? "moderately non-uniform" : "strongly non-uniform";
    };
    const auto [best_rel, worst_rel] =
        std::minmax_element(laprox_vs_best_headwise.begin(), laprox_vs_best_headwise.end());
    std::string verdict =
        "laprox has the lowest M5 at " + std::to_string(laprox_wins.size()) + " of " + std::to_string(n_budgets) +
        " budgets" + (laprox_wins.empty() ? "" : " (" + join_words(laprox_wins) + ")") +
        "; against the best head-wise policy at each budget its M5 ranges from " + fixed(100 * *best_rel, 1) +
        "% to " + fixed(100 * *worst_rel, 1) + "% (negative = lower error). Its per-head split is " + unevenness(*most_uneven) + " at " +
        budget_label(m5, most_uneven - mean_cv.begin()) + " (coefficient of variation of kept tokens across KV "
        "heads " + fixed(*most_uneven, 2) + ", mean over layers) and " + unevenness(*least_uneven) + " at " +
        budget_label(m5, least_uneven - mean_cv.begin()) + " (" + fixed(*least_uneven, 2) + ").";
    if (!equal_memory) verdict += " WARNING: the policies did not keep equal totals per layer (see the table).";

    MarkdownReport report("LaProx vs head-wise policies at equal memory");
    std::vector<std::string> budget_labels;
    for (std::size_t b = 0; b < n_budgets; ++b) budget_labels.push_back(budget_label(m5, b));
    report.paragraph("**Dump:** " + nb.describe_dump() + ". **Policies:** laprox (our approximate-matrix-"
                     "multiplication formulation, mode=layer), keydiff, snapkv, h2o. **Budgets:** " +
                     join_words(budget_labels) + " context tokens per KV head, i.e. G·N = " +
                     std::to_string(nb.attrs().n_kv_heads) + "·N per layer for every policy. **Block:** " +
                     std::to_string(knobs.block) + ". **Metric:** M5 = ‖y − ŷ‖/‖y‖ of the attention output "
                     "through o_proj, mean over future queries and layers.");
    report.section("Verdict").paragraph(verdict);

    report.section("Mean layer output error (M5) per policy and budget");
    std::vector<std::string> header = {"policy"};
    header.insert(header.end(), m5.budget_names.begin(), m5.budget_names.end());
    std::vector<std::vector<std::string>> rows;
    for (const auto& policy : m5.policies) {
      std::vector<std::string> row = {policy};
      for (std::size_t b = 0; b < n_budgets; ++b) {
        const bool bold = policy == winner[b];
        row.push_back((bold ? "**" : "") + fixed(m5.at(policy, b)) + (bold ? "**" : ""));
      }
      rows.push_back(row);
    }
    std::vector<std::string> relative_row = {"laprox vs best head-wise"};
    for (std::size_t b = 0; b < n_budgets; ++b)
      relative_row.push_back(fixed(100 * laprox_vs_best_headwise[b], 1) + "% (" + best_headwise[b] + ")");
    rows.push_back(relative_row);
    report.table(header, rows);
    report.paragraph("Bold = lowest M5 at that budget. Last row: laprox's M5 relative to the best of "
                     "keydiff/snapkv/h2o at the same budget.");

    report.section("Equal memory: context tokens kept per layer");
    std::vector<std::vector<std::string>> memory_rows;
    for (std::size_t b = 0; b < n_budgets; ++b)
      for (int li = 0; li < n_layers; ++li) {
        std::vector<std::string> row = {budget_label(m5, b), std::to_string(result.layers[li]),
                                        std::to_string(nb.attrs().n_kv_heads * m5.budget_tokens[b])};
        for (const auto& policy : m5.policies) row.push_back(std::to_string(allocation(policy, b, li).total()));
        memory_rows.push_back(row);
      }
    std::vector<std::string> memory_header = {"budget", "layer", "G·N"};
    memory_header.insert(memory_header.end(), m5.policies.begin(), m5.policies.end());
    report.table(memory_header, memory_rows);

    report.section("How non-uniform are laprox's per-head budgets?");
    std::vector<std::vector<std::string>> split_rows;
    for (std::size_t b = 0; b < n_budgets; ++b)
      for (int li = 0; li < n_layers; ++li) {
        const Allocation& a = laprox[b][li];
        std::string per_head;
        for (std::size_t g = 0; g < a.kept.size(); ++g) per_head += (g ? " / " : "") + std::to_string(a.kept[g]);
        split_rows.push_back({budget_label(m5, b), std::to_string(result.layers[li]), per_head,
                              fixed(100 * a.min_fraction, 1) + "%", fixed(100 * a.max_fraction, 1) + "%",
                              fixed(a.cv, 2)});
      }
    report.table({"budget", "layer", "kept per KV head", "min kept fraction", "max kept fraction", "CV"}, split_rows);
    report.paragraph("Kept fraction = kept context tokens / C (" + std::to_string(nb.context_len()) +
                     "); a head-wise policy keeps N/C in every head (CV 0). Each laprox head keeps at least ⌊0.2·N⌋.");

    report.section("Figures");
    report.figure("M5 vs budget at equal memory (p5–p95 over layers shaded for laprox)", layer_error_png);
    report.figure("laprox's kept tokens per KV head ÷ N, per layer and budget", allocation_png);
    nb.write_report(report);

    nlohmann::json summary;
    summary["block"] = knobs.block;
    summary["n_kv_heads"] = nb.attrs().n_kv_heads;
    for (std::size_t b = 0; b < n_budgets; ++b)
      summary["budgets"].push_back({{"name", m5.budget_names[b]},
                                    {"ratio", m5.budget_ratios[b]},
                                    {"tokens", m5.budget_tokens[b]}});
    for (const auto& policy : m5.policies) summary["mean_layer_out_err"][policy] = m5.value[m5.policy_index(policy)];
    summary["lowest_m5_policy"] = winner;
    summary["laprox_vs_best_headwise"] = laprox_vs_best_headwise;
    summary["laprox_lowest_at"] = laprox_wins.size();
    for (std::size_t b = 0; b < n_budgets; ++b) {
      nlohmann::json per_layer = nlohmann::json::array();
      for (int li = 0; li < n_layers; ++li)
        per_layer.push_back({{"layer", result.layers[li]},
                             {"kept", laprox[b][li].kept},
                             {"min_fraction", laprox[b][li].min_fraction},
                             {"max_fraction", laprox[b][li].max_fraction},
                             {"cv", laprox[b][li].cv}});
      summary["laprox_allocation"].push_back(per_layer);
    }
    summary["laprox_mean_cv"] = mean_cv;
    summary["equal_memory"] = equal_memory;
    summary["verdict"] = verdict;
    nb.write_summary(summary);

    std::cout << "laprox_vs_headwise on " << nb.describe_dump() << ", block " << knobs.block << "\n";
    for (std::size_t b = 0; b < n_budgets; ++b) {
      std::cout << "  " << budget_label(m5, b) << ": M5";
      for (const auto& policy : m5.policies) std::cout << " " << policy << " " << fixed(m5.at(policy, b));
      std::cout << "\n";
    }
    std::cout << "  " << verdict << "\n  report: " << nb.out_path(kReportFile) << "\n";
  });
}
