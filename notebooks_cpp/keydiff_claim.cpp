// nb_keydiff_claim — a literate analysis program ("notebook").
//
// ============================================================================
// Question
// ============================================================================
// KeyDiff keeps the keys that are least aligned with the mean key direction,
// on the claim that *distinctive keys are the ones that get attention*.
// K-norm makes a rival query-agnostic claim: *keys with a small norm get
// attention*. Neither policy ever sees a query, so each stands or falls with
// its claim. Does the claim hold on a real dump — for the attention that the
// future queries (question + answer, the tokens a compressed cache must
// serve) actually pay to each context key?
//
// Run:  build/nb_keydiff_claim [--dump D] [--out DIR] [--bins 10]
// Out:  DIR/report.md, summary.json, correlation.csv, correlation_bins.csv,
//       analyze.json, diversity.png/.svg
#include <cmath>
#include <iostream>
#include <map>
#include <tuple>

#include "analysis/analyze_dump.hpp"
#include "analysis/diversity_correlation.hpp"
#include "analysis/plot/plots.hpp"
#include "analysis/tidy_csv.hpp"
#include "notebooks_cpp/notebook_support.hpp"

using namespace kvsim;
using namespace kvsim::notebook;

namespace {

// The two claims, in the order the report lists them.
const std::vector<std::pair<std::string, std::string>> kClaims = {
    {analysis::kScoreKeyDiff, "KeyDiff distinctiveness −cos(k, mean unit key)"},
    {analysis::kScoreKNorm, "K-norm −‖k‖"}};

// One score's numbers, read back from correlation.csv / correlation_bins.csv.
struct ScoreNumbers {
  double mean_rho = NAN, median_rho = NAN, share_rho_positive = NAN, mean_pearson_r_log = NAN;
  int n_heads = 0;
  std::vector<analysis::QuantileBin> bins;  // pooled over heads
};

struct HeadNumbers {
  int layer, head;
  std::map<std::string, double> rho, pearson_r_log;  // by score
};

struct CorrelationNumbers {
  std::map<std::pair<std::string, int>, ScoreNumbers> summary;  // (score, layer or -1 pooled)
  std::vector<HeadNumbers> heads;
  int n_keys = 0;
};

// The CSVs are the analysis' single source of truth (the figure is drawn
// from them too), so the report reads its numbers back from them instead of
// keeping a second in-memory copy that could drift.
CorrelationNumbers read_correlation(const std::string& stats_path, const std::string& bins_path) {
  CorrelationNumbers out;
  const auto stats = analysis::CsvTable::read(stats_path);
  const auto c_score = stats.column("score"), c_layer = stats.column("layer"),
             c_head = stats.column("head"), c_metric = stats.column("metric"),
             c_value = stats.column("value");
  std::map<std::pair<int, int>, HeadNumbers> heads;
  for (std::size_t r = 0; r < stats.rows(); ++r) {
    const std::string score = stats.text(r, c_score), metric = stats.text(r, c_metric);
    const int layer = int(stats.number(r, c_layer)), head = int(stats.number(r, c_head));
    const double v = stats.number(r, c_value);
    if (head >= 0) {
      auto& h = heads.try_emplace({layer, head}, HeadNumbers{layer, head, {}, {}}).first->second;
      if (metric == "spearman_rho") h.rho[score] = v;
      if (metric == "pearson_r_log") h.pearson_r_log[score] = v;
      if (metric == "n_keys") out.n_keys = int(v);
      continue;
    }
    ScoreNumbers& s = out.summary[{score, layer}];
    if (metric == "spearman_rho_mean") s.mean_rho = v;
    if (metric == "spearman_rho_median") s.median_rho = v;
    if (metric == "share_rho_positive") s.share_rho_positive = v;
    if (metric == "pearson_r_log_mean") s.mean_pearson_r_log = v;
    if (metric == "n_heads") s.n_heads = int(v);
  }
  for (auto& [key, h] : heads) out.heads.push_back(h);

  const auto bins = analysis::CsvTable::read(bins_path);
  const auto b_score = bins.column("score"), b_layer = bins.column("layer"),
             b_head = bins.column("head"), b_lo = bins.column("x_lo"), b_hi = bins.column("x_hi"),
             b_x = bins.column("x_mean"), b_y = bins.column("y_mean"), b_n = bins.column("count");
  for (std::size_t r = 0; r < bins.rows(); ++r) {
    if (bins.number(r, b_head) != -1) continue;
    analysis::QuantileBin bin;
    bin.x_lo = bins.number(r, b_lo);
    bin.x_hi = bins.number(r, b_hi);
    bin.x_mean = bins.number(r, b_x);
    bin.y_mean = bins.number(r, b_y);
    bin.count = std::size_t(bins.number(r, b_n));
    out.summary[{bins.text(r, b_score), int(bins.number(r, b_layer))}].bins.push_back(bin);
  }
  return out;
}

// |rho| below 2/sqrt(n-1) is what independent scores give in ~95% of heads
// (the null distribution of Spearman's rho has sd ≈ 1/sqrt(n-1)).
double chance_rho(int n_keys) { return 2.0 / std::sqrt(std::max(1, n_keys - 1)); }

std::string strength(double rho) {
  const double a = std::abs(rho);
  return a < 0.1 ? "negligible" : a < 0.3 ? "weak" : a < 0.5 ? "moderate" : "strong";
}

// Mean attention in the top decile of the score over the bottom decile: how
// much more attention the keys a policy keeps first get than those it drops first.
double top_over_bottom(const ScoreNumbers& s) {
  if (s.bins.size() < 2 || !(s.bins.front().y_mean > 0)) return NAN;
  return s.bins.back().y_mean / s.bins.front().y_mean;
}

// The claim's verdict from its numbers. Direction: the claimed one when the
// pooled mean rho is positive AND most heads agree in sign, the opposite one
// when both are negative, else "no consistent direction". Size: the
// conventional negligible/weak/moderate/strong reading of the MEDIAN head's
// |rho| — the typical head, which one outlier head cannot swing as it can the mean.
std::string claim_verdict(const std::string& claim, const ScoreNumbers& s, int heads_for,
                          int heads_against, int n_heads, double chance) {
  const std::string numbers =
      "pooled mean ρ = " + fixed(s.mean_rho) + ", " + fixed(100 * s.share_rho_positive, 0) +
      "% of heads with ρ > 0; " + std::to_string(heads_for) + " of " + std::to_string(n_heads) +
      " heads beyond chance (|ρ| > " + fixed(chance, 2) + ") in the claimed direction, " +
      std::to_string(heads_against) + " against";
  const std::string size = strength(s.median_rho);
  const std::string details = " (median ρ = " + fixed(s.median_rho) + ", " + numbers + ").";
  if (s.mean_rho > 0 && s.share_rho_positive > 0.5) {
    if (size == "negligible") return claim + " points the claimed way, but negligibly" + details;
    return claim + (size == "weak" ? " holds weakly" : " holds (" + size + " correlation)") + details;
  }
  if (s.mean_rho < 0 && s.share_rho_positive < 0.5) {
    if (size == "negligible") return claim + " points the opposite way, though negligibly" + details;
    return claim + " is contradicted: attention runs the opposite way (" + size + ")" + details;
  }
  return claim + " shows no consistent direction" + details;
}

}  // namespace

int main(int argc, char** argv) {
  Notebook notebook("keydiff_claim",
              "does KeyDiff's distinctiveness (or K-norm's -|k|) predict the attention future queries pay?");
  int n_bins = 10;
  notebook.options().add_options()("bins", po::value(&n_bins)->default_value(10),
                             "quantile bins of each score (10 = deciles)");
  notebook.exclude_from_corpus({"heads"});  // per head / per layer: another model's differ
  return notebook.run(argc, argv, [&](Notebook& nb) {
    // ==========================================================================
    // Method
    // ==========================================================================
    // Per (layer, query head h), over the context keys j < C:
    //   x_j = −cos(k_j, a), a = mean over the context of k_i/‖k_i‖ — KeyDiff's
    //         score computed once over the whole context (no blocks: we test
    //         the claim, not the block replay);
    //   x_j = −‖k_j‖ — K-norm's score, side by side;
    //   y_j = mean over the future queries t ∈ [C, T) of the full causal
    //         attention softmax_{j'≤t}(s·q_t·k_j')[j] — what the cache must serve.
    // Spearman ρ(x, y) is the natural test of "higher score ⇒ more attention":
    // both policies only rank keys, so only ranks matter. Pearson r(x, log y)
    // adds a parametric view (attention is heavy-tailed, hence the log).
    // Decile bins show the shape: mean y per tenth of the keys sorted by x.
    // The numbers come from the `kvsim analyze --correlation` analysis
    // (analysis::correlate_layer per layer, analysis::summarize pooled),
    // written as tidy CSVs that the figure is drawn from.
    if (n_bins < 2) throw UsageError("--bins must be >= 2");
    analysis::AnalyzeOptions analyze;
    analyze.correlation = true;
    analyze.window = nb.window();
    analyze.n_bins = n_bins;
    analyze.out_dir = nb.out_dir();
    std::ostringstream analyze_log;
    nb.log("correlating key scores with attention received, layer by layer");
    nb.write_analysis_record(analysis::analyze_dump(nb.dump(), analyze, analyze_log));
    const std::string stats_csv = nb.out_path(analysis::kCorrelationFile);
    const std::string bins_csv = nb.out_path(analysis::kCorrelationBinsFile);
    const CorrelationNumbers numbers = read_correlation(stats_csv, bins_csv);

    plot::DiversityPlotOptions figure;
    figure.bins = bins_csv;
    figure.stats = stats_csv;
    figure.layer = -1;  // pooled over every layer
    figure.figure.out_dir = nb.out_dir();
    figure.figure.name = "diversity";
    figure.figure.model = nb.attrs().model;
    nb.log("drawing the diversity figure");
    const plot::PlotFiles diversity_png = plot::plot_diversity(figure);

    // ==========================================================================
    // Result
    // ==========================================================================
    const ScoreNumbers& keydiff = numbers.summary.at({analysis::kScoreKeyDiff, -1});
    const ScoreNumbers& knorm = numbers.summary.at({analysis::kScoreKNorm, -1});
    const double chance = chance_rho(numbers.n_keys);
    auto heads_beyond_chance = [&](const std::string& score, int sign) {
      int n = 0;
      for (const auto& h : numbers.heads) n += sign * h.rho.at(score) > chance;
      return n;
    };

    // Which claim ranks keys by attention better: the larger pooled ρ.
    const bool knorm_better = knorm.mean_rho > keydiff.mean_rho;
    const std::string comparison =
        std::string(knorm_better ? "K-norm's" : "KeyDiff's") + " score tracks attention better (pooled ρ " +
        fixed(knorm_better ? knorm.mean_rho : keydiff.mean_rho) + " vs " +
        fixed(knorm_better ? keydiff.mean_rho : knorm.mean_rho) + ").";
    const int n_heads = int(numbers.heads.size());
    std::string by_layer = "By layer, KeyDiff's mean ρ is ";
    for (int l = 0; l < nb.attrs().n_layers; ++l)
      by_layer += (l ? ", " : "") + fixed(numbers.summary.at({analysis::kScoreKeyDiff, l}).mean_rho) +
                  " (layer " + std::to_string(l) + ")";
    const std::string verdict =
        claim_verdict("KeyDiff's claim", keydiff, heads_beyond_chance(analysis::kScoreKeyDiff, +1),
                      heads_beyond_chance(analysis::kScoreKeyDiff, -1), n_heads, chance) + " " +
        claim_verdict("K-norm's claim", knorm, heads_beyond_chance(analysis::kScoreKNorm, +1),
                      heads_beyond_chance(analysis::kScoreKNorm, -1), n_heads, chance) + " " +
        comparison + " The most distinctive tenth of the keys receives " + fixed(top_over_bottom(keydiff), 2) +
        "× the attention of the least distinctive tenth. " + by_layer + ".";

    MarkdownReport report("Does distinctiveness predict attention? (KeyDiff's claim)");
    report.paragraph("**Dump:** " + nb.describe_dump() + ". Attention received y_j = mean over the " +
                     std::to_string(nb.future_len()) + " future queries of their full causal attention to " +
                     "context key j; scores over the " + std::to_string(nb.context_len()) +
                     " context keys of each KV head; " + std::to_string(numbers.heads.size()) +
                     " (layer, query head) pairs; " + std::to_string(n_bins) + " quantile bins.");
    report.section("Verdict").paragraph(verdict);

    report.section("Pooled over all heads");
    std::vector<std::vector<std::string>> pooled_rows;
    for (const auto& [score, label] : kClaims) {
      const ScoreNumbers& s = numbers.summary.at({score, -1});
      pooled_rows.push_back({label, fixed(s.mean_rho), fixed(s.median_rho),
                             fixed(100 * s.share_rho_positive, 0) + "%",
                             std::to_string(heads_beyond_chance(score, +1)) + " / " +
                                 std::to_string(heads_beyond_chance(score, -1)),
                             fixed(s.mean_pearson_r_log), fixed(top_over_bottom(s), 2) + "×"});
    }
    report.table({"score", "mean ρ", "median ρ", "heads ρ > 0", "heads ρ > +" + fixed(chance, 2) +
                      " / < −" + fixed(chance, 2),
                  "mean Pearson r(x, log y)", "attention top/bottom decile"},
                 pooled_rows);
    report.paragraph("±" + fixed(chance, 2) + " = 2/√(C−1): a head's |ρ| beyond it is unlikely (≈5%) " +
                     "if score and attention were unrelated.");

    report.section("Per layer");
    std::vector<std::vector<std::string>> layer_rows;
    for (int l = 0; l < nb.attrs().n_layers; ++l) {
      std::vector<std::string> row = {std::to_string(l)};
      for (const auto& [score, label] : kClaims) {
        const ScoreNumbers& s = numbers.summary.at({score, l});
        row.push_back(fixed(s.mean_rho));
        row.push_back(fixed(100 * s.share_rho_positive, 0) + "%");
      }
      layer_rows.push_back(row);
    }
    report.table({"layer", "KeyDiff mean ρ", "KeyDiff ρ > 0", "K-norm mean ρ", "K-norm ρ > 0"}, layer_rows);

    report.section("Per head");
    std::vector<std::vector<std::string>> head_rows;
    for (const auto& h : numbers.heads)
      head_rows.push_back({std::to_string(h.layer), std::to_string(h.head),
                           fixed(h.rho.at(analysis::kScoreKeyDiff)), fixed(h.pearson_r_log.at(analysis::kScoreKeyDiff)),
                           fixed(h.rho.at(analysis::kScoreKNorm)), fixed(h.pearson_r_log.at(analysis::kScoreKNorm))});
    report.table({"layer", "head", "KeyDiff ρ", "KeyDiff r(log y)", "K-norm ρ", "K-norm r(log y)"}, head_rows);

    report.section("Mean attention received per score decile (pooled over heads)");
    std::vector<std::vector<std::string>> decile_rows;
    for (std::size_t b = 0; b < keydiff.bins.size(); ++b)
      decile_rows.push_back({std::to_string(b + 1), fixed(keydiff.bins[b].x_mean), fixed(1e3 * keydiff.bins[b].y_mean, 3),
                             fixed(knorm.bins[b].x_mean), fixed(1e3 * knorm.bins[b].y_mean, 3)});
    report.table({"bin (1 = lowest score)", "KeyDiff mean x", "KeyDiff mean y ×1e3", "K-norm mean x",
                  "K-norm mean y ×1e3"},
                 decile_rows);
    report.paragraph("A uniform spread of attention would give y = 1/(context + future) per key; a claim that "
                     "holds shows y rising from bin 1 to bin " + std::to_string(n_bins) + ".");
    report.figure("Mean attention per score decile (left, log y) and per-layer mean Spearman ρ (right)",
                  diversity_png);
    nb.write_report(report);

    // summary.json: the same numbers for scripts and tests.
    nlohmann::json summary;
    auto score_json = [](const ScoreNumbers& s) {
      nlohmann::json bins = nlohmann::json::array();
      for (const auto& b : s.bins) bins.push_back({{"x_mean", b.x_mean}, {"y_mean", b.y_mean}, {"count", b.count}});
      return nlohmann::json{{"mean_rho", s.mean_rho},           {"median_rho", s.median_rho},
                            {"share_rho_positive", s.share_rho_positive},
                            {"mean_pearson_r_log", s.mean_pearson_r_log},
                            {"n_heads", s.n_heads},             {"bins", bins}};
    };
    for (const auto& [key, s] : numbers.summary)
      summary[key.second < 0 ? "pooled" : "layer_" + std::to_string(key.second)][key.first] = score_json(s);
    for (const auto& h : numbers.heads)
      summary["heads"].push_back({{"layer", h.layer}, {"head", h.head}, {"rho", h.rho}, {"pearson_r_log", h.pearson_r_log}});
    summary["chance_rho"] = chance;
    summary["n_bins"] = n_bins;
    summary["verdict"] = verdict;
    summary["figures"] = {diversity_png.png, diversity_png.svg};
    nb.write_summary(summary);

    std::cout << "keydiff_claim on " << nb.describe_dump() << "\n"
              << "  KeyDiff: pooled mean rho " << fixed(keydiff.mean_rho) << ", median " << fixed(keydiff.median_rho)
              << ", " << fixed(100 * keydiff.share_rho_positive, 0) << "% of heads > 0\n"
              << "  K-norm:  pooled mean rho " << fixed(knorm.mean_rho) << ", median " << fixed(knorm.median_rho)
              << ", " << fixed(100 * knorm.share_rho_positive, 0) << "% of heads > 0\n"
              << "  " << verdict << "\n"
              << "  report: " << nb.out_path(kReportFile) << "\n";
  });
}
