// nb_offline_validity — do kvsim's offline metrics predict what a compressed
// cache really does to the model?
//
// ============================================================================
// Question
// ============================================================================
// Every figure kvsim draws ranks policies by offline metrics of captured
// tensors: attention-mass recall, top-k recall, the gap to the oracle, the
// head and layer output errors. A reviewer's first question: does a policy
// that scores better offline also disturb the model less when it really runs
// with the compressed cache? Which offline metric predicts that best?
#include <cmath>
#include <filesystem>
#include <map>

#include "analysis/offline_validity.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/rank_statistics.hpp"
#include "io/model/load_model.hpp"
#include "notebooks_cpp/notebook_support.hpp"
#include "sim/engine/evaluation.hpp"

#ifndef KVSIM_SHARED_MODELS
#error "nb_offline_validity needs KVSIM_SHARED_MODELS (set by CMakeLists.txt)"
#endif

using namespace kvsim;
using namespace kvsim::notebook;

namespace {

// The checkpoint a dump was captured from, by its model attribute: the two
// shared models (their folders in ../shared/data/models), or --model.
std::string model_for(const std::string& dump_model, const std::string& models_dir, const std::string& given) {
  if (!given.empty()) return given;
  static const std::map<std::string, std::string> known = {{"TinyStories-656K", "tinystories-656k"},
                                                           {"stories260K", "stories260K/stories260K.bin"}};
  const auto it = known.find(dump_model);
  if (it == known.end())
    throw UsageError("the dump's model '" + dump_model + "' is not one of the shared models; pass --model");
  return (fs::path(models_dir) / it->second).string();
}

// How strongly a metric predicts the damage, signed so that higher is better:
// a "higher is better" metric (recall) should fall as KL rises.
double predictive(const std::string& metric, double rho) {
  return describe_metric(metric).better == Better::higher ? -rho : rho;
}

}  // namespace

int main(int argc, char** argv) {
  Notebook notebook("offline_validity",
                    "do the offline metrics predict the real damage (next-token KL with the compressed cache)?");
  ReplayKnobs knobs;
  knobs.budgets = "0.02,0.05,0.1,0.2,0.3,0.5";
  knobs.add_to(notebook.options());
  std::string models_dir = KVSIM_SHARED_MODELS, model_path, policies = "all";
  notebook.options().add_options()
      ("models", po::value(&models_dir)->default_value(models_dir), "folder of the shared models")
      ("model", po::value(&model_path), "checkpoint to run (default: the dump's model among --models)")
      ("policies", po::value(&policies)->default_value(policies), "policies to compress with");
  return notebook.run(argc, argv, [&](Notebook& nb) {
    // ==========================================================================
    // Method
    // ==========================================================================
    // The dump's own tokens (context C, then the question and the generated
    // continuation) run through the checkpoint it was captured from. Every
    // (policy, budget) of the sweep compresses each layer's cache after the
    // context with the replay engine's selection on this run's tensors; the
    // remaining tokens run teacher-forced with that cache (their own keys and
    // values appended), beside the full cache (sim/engine/evaluation.hpp).
    // Damage = the mean over future positions of KL(p_full || p_compressed).
    // Per offline metric (item mean over layers and heads), Spearman's rho and
    // Pearson's r with that KL across the items that compress (full and
    // budgets >= C left out): the metric's validity on this dump.
    const std::string path = model_for(nb.attrs().model, models_dir, model_path);
    nb.log("running " + path + " with every compressed cache");
    const LoadedModel model = load_model(path, 0);
    SweepSpec spec = make_sweep_spec(nb.runnable_policies(policies), knobs.budgets, knobs.block);
    spec.options.window = nb.window();
    const Evaluation ev = evaluate_compression(model, nb.dump().tokens(), nb.context_len(), spec);
    write_file_atomically(nb.out_path("evaluate.csv"), ev.evaluate_csv());
    write_file_atomically(nb.out_path("results.csv"), results_csv(ev.offline, nb.dump_label()));
    const auto offline = ev.offline_means();
    const std::vector<double> kl = ev.mean_kl_of_compressing_items();
    write_file_atomically(nb.out_path("validity.csv"), analysis::validity_csv(offline, kl));
    std::vector<plot::PlotFiles> figures;
    for (const char* metric : {"layer_out_err", "attn_recall"}) {
      plot::ValidityPlotOptions o;
      o.evaluate = nb.out_path("evaluate.csv");
      o.results = nb.out_path("results.csv");
      o.metric = metric;
      o.figure.out_dir = nb.out_dir();
      o.figure.name = std::string("validity_") + metric;
      figures.push_back(plot::plot_validity(o));
    }

    // ==========================================================================
    // Result
    // ==========================================================================
    nlohmann::json summary;
    std::vector<std::vector<std::string>> rows;
    std::string best;
    double best_strength = -2;
    int n_items = 0;
    for (double v : kl) n_items += std::isfinite(v);
    for (const auto& [key, values] : offline) {
      if (key.second != -1) continue;
      std::vector<double> x, y;
      for (std::size_t i = 0; i < values.size(); ++i)
        if (std::isfinite(values[i]) && std::isfinite(kl[i])) {
          x.push_back(values[i]);
          y.push_back(kl[i]);
        }
      const double rho = analysis::spearman(x, y), r = analysis::pearson(x, analysis::guarded_log(y));
      const double strength = predictive(key.first, rho);
      summary["spearman"][key.first] = rho;
      summary["pearson_log_kl"][key.first] = r;
      summary["predictive_strength"][key.first] = strength;
      rows.push_back({"`" + key.first + "`", fixed(rho), fixed(r), fixed(strength)});
      if (strength > best_strength) {
        best_strength = strength;
        best = key.first;
      }
    }
    summary["best_predictor"] = best;
    summary["items"] = n_items;
    double kl_max = 0;
    for (double v : kl)
      if (std::isfinite(v)) kl_max = std::max(kl_max, v);
    summary["kl_max"] = kl_max;
    const std::string verdict = "On this dump `" + best + "` predicts the damage best: Spearman ρ with the mean "
                                "next-token KL " + fixed(summary["spearman"][best].get<double>()) + " over " +
                                std::to_string(n_items) + " (policy, budget) items (signed strength " +
                                fixed(best_strength) + "; 1 = a perfect ranking).";
    summary["verdict"] = verdict;

    MarkdownReport report("Do the offline metrics predict the real damage?");
    report.paragraph("Dump: " + nb.describe_dump() + "; checkpoint `" + fs::path(path).filename().string() +
                     "`; " + std::to_string(ev.future_len) + " teacher-forced future positions; budgets " +
                     knobs.budgets + ", block " + std::to_string(knobs.block) + ".")
        .section("Correlation of each offline metric with the mean next-token KL")
        .paragraph("Across the (policy, budget) items that compress (full and budgets ≥ C left out). Signed "
                   "strength: ρ for metrics where lower is better, −ρ where higher is better.")
        .table({"offline metric", "Spearman ρ", "Pearson r (log KL)", "signed strength"}, rows)
        .paragraph(verdict)
        .figure("layer output error vs next-token KL", figures[0])
        .figure("attention-mass recall vs next-token KL", figures[1]);
    nb.write_report(report);
    nb.write_summary(summary);
    std::cout << verdict << "\n";
  });
}
