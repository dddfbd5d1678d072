#include "analysis/analyze_dump.hpp"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>

#include "analysis/diversity_correlation.hpp"
#include "analysis/pca_layer.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/dump_label.hpp"
#include "io/output_dir.hpp"
#include "io/errors.hpp"
#include "io/layer_geometry.hpp"

namespace kvsim::analysis {

namespace fs = std::filesystem;

namespace {

std::string num(double v) { return format_number(v); }
std::string num(int v) { return std::to_string(v); }
std::string num(std::size_t v) { return std::to_string(v); }

std::string out_path(const AnalyzeOptions& o, const char* name) {
  return (fs::path(o.out_dir) / name).string();
}

// --- PCA ------------------------------------------------------------------

class PcaWriters {
 public:
  PcaWriters(const AnalyzeOptions& o, std::string dump)
      : dump_(std::move(dump)),
        kept_(o.kept),
        summary_(out_path(o, kPcaFile),
                 {"dump", "layer", "kv_head", "set", "policy", "budget", "metric", "value"}),
        spectrum_(out_path(o, kPcaSpectrumFile), {"dump", "layer", "kv_head", "component",
                                                  "eigenvalue", "explained_ratio",
                                                  "cumulative_ratio"}),
        points_(out_path(o, kPcaPointsFile), points_header(o.kept.has_value())) {}

  void add(const HeadPca& h) {
    const std::string layer = num(h.layer), g = num(h.kv_head);
    auto metric = [&](const std::string& set, const std::string& name, double value) {
      const bool kept = set == "kept";
      summary_.row({dump_, layer, g, set, kept ? kept_->policy : "", kept ? kept_->budget : "",
                    name, num(value)});
    };
    const auto ratio = h.pca.explained_ratio();
    metric("context", "n_keys", double(h.pca.n_keys));
    metric("context", "effective_rank", h.pca.effective_rank());
    metric("context", "mean_pairwise_cosine", h.mean_pairwise_cosine);
    metric("context", "explained_ratio_pc1", ratio.size() > 0 ? ratio(0) : NAN);
    metric("context", "explained_ratio_pc2", ratio.size() > 1 ? ratio(1) : NAN);
    if (h.kept_stats) {
      metric("kept", "n_keys", double(h.kept_stats->n_kept));
      metric("kept", "effective_rank", h.kept_stats->effective_rank);
      metric("kept", "mean_pairwise_cosine", h.kept_stats->mean_pairwise_cosine);
    }
    double cumulative = 0;
    for (std::size_t c = 0; c < ratio.size(); ++c) {
      cumulative += ratio(c);
      spectrum_.row({dump_, layer, g, num(int(c)), num(h.pca.eigenvalues(c)), num(ratio(c)),
                     num(cumulative)});
    }
    for (std::size_t j = 0; j < h.attention.size(); ++j) {
      std::vector<std::string> row = {dump_,          layer,
                                      g,              num(j),
                                      num(h.coords(j, 0)), num(h.coords(j, 1)),
                                      num(double(h.attention[j])), num(h.key_norm[j])};
      if (kept_) {
        row.push_back(kept_->policy);
        row.push_back(kept_->budget);
        row.push_back(h.kept && (*h.kept)[j] ? "1" : "0");
      }
      points_.row(row);
    }
  }

  void commit() {
    summary_.commit();
    spectrum_.commit();
    points_.commit();
  }

 private:
  static std::vector<std::string> points_header(bool with_kept) {
    std::vector<std::string> h = {"dump", "layer",     "kv_head",  "position",
                                  "pc1",  "pc2",       "attention", "key_norm"};
    if (with_kept) h.insert(h.end(), {"policy", "budget", "kept"});
    return h;
  }

  std::string dump_;
  const std::optional<KeptSets>& kept_;
  CsvWriter summary_, spectrum_, points_;
};

// --- correlation ------------------------------------------------------------

class CorrelationWriters {
 public:
  CorrelationWriters(const AnalyzeOptions& o, std::string dump)
      : dump_(std::move(dump)),
        stats_(out_path(o, kCorrelationFile), {"dump", "score", "layer", "head", "metric", "value"}),
        bins_(out_path(o, kCorrelationBinsFile), {"dump", "score", "layer", "head", "bin", "x_lo",
                                                  "x_hi", "x_mean", "y_mean", "count"}) {}

  void add_head(const HeadCorrelation& h) {
    for (const char* score : {kScoreKeyDiff, kScoreKNorm}) {
      const auto& c = h.by_score(score);
      stat(score, h.layer, h.head, "spearman_rho", c.spearman_rho);
      stat(score, h.layer, h.head, "pearson_r_log", c.pearson_r_log);
      stat(score, h.layer, h.head, "n_keys", double(h.n_keys));
      add_bins(score, h.layer, h.head, c.bins);
    }
  }

  // layer -1 = pooled over every analysed layer
  void add_summary(int layer, const std::vector<HeadCorrelation>& heads) {
    for (const char* score : {kScoreKeyDiff, kScoreKNorm}) {
      const CorrelationSummary s = summarize(heads, score);
      stat(score, layer, -1, "spearman_rho_mean", s.mean_rho);
      stat(score, layer, -1, "spearman_rho_median", s.median_rho);
      stat(score, layer, -1, "share_rho_positive", s.share_rho_positive);
      stat(score, layer, -1, "pearson_r_log_mean", s.mean_pearson_r_log);
      stat(score, layer, -1, "n_heads", double(s.n_heads));
      add_bins(score, layer, -1, s.bins);
    }
  }

  void commit() {
    stats_.commit();
    bins_.commit();
  }

 private:
  void stat(const char* score, int layer, int head, const char* metric, double value) {
    stats_.row({dump_, score, num(layer), num(head), metric, num(value)});
  }
  void add_bins(const char* score, int layer, int head, const std::vector<QuantileBin>& bins) {
    for (std::size_t b = 0; b < bins.size(); ++b) {
      const auto& bin = bins[b];
      bins_.row({dump_, score, num(layer), num(head), num(int(b)), num(bin.x_lo), num(bin.x_hi),
                 num(bin.x_mean), num(bin.y_mean), num(bin.count)});
    }
  }

  std::string dump_;
  CsvWriter stats_, bins_;
};

nlohmann::json analysis_record(const DumpReader& dump, const AnalyzeOptions& o, int context_len,
                               const std::vector<int>& layers) {
  const DumpAttrs& a = dump.attrs();
  nlohmann::json j;
  j["dump"] = {{"path", dump.path()},
               {"label", dump_label(dump.path())},
               {"model", a.model},
               {"source", a.source},
               {"n_layers", a.n_layers},
               {"n_heads", a.n_heads},
               {"n_kv_heads", a.n_kv_heads},
               {"head_dim", a.head_dim},
               {"n_tokens", a.n_tokens},
               {"context_len", context_len},
               {"attn_scale", a.scale()}};
  j["analyses"] = nlohmann::json::array();
  if (o.pca) j["analyses"].push_back("pca");
  if (o.correlation) j["analyses"].push_back("correlation");
  j["layers"] = layers;
  j["n_bins"] = o.n_bins;
  if (o.kept) j["kept"] = {{"policy", o.kept->policy}, {"budget", o.kept->budget}};
  return j;
}

}  // namespace

AnalyzeOutcome analyze_dump(const DumpReader& dump, const AnalyzeOptions& options, std::ostream& summary) {
  if (!options.pca && !options.correlation)
    throw UsageError("choose --pca and/or --correlation");
  const DumpAttrs& attrs = dump.attrs();
  const int C = resolve_context_len(attrs, options.window);
  if (C < 2)
    throw InputError(dump.path() + ": the context holds " + std::to_string(C) +
                     " token(s); PCA and correlations need at least 2");
  const std::vector<int> layers = select_layers(options.layers, attrs.n_layers);
  create_output_directory(options.out_dir, "--out");

  const std::string label = dump_label(dump.path());
  std::unique_ptr<PcaWriters> pca;
  std::unique_ptr<CorrelationWriters> corr;
  if (options.pca) pca = std::make_unique<PcaWriters>(options, label);
  if (options.correlation) corr = std::make_unique<CorrelationWriters>(options, label);

  summary << "kvsim analyze: " << dump.path() << " (model " << attrs.model << ", " << layers.size()
          << " layer(s), context " << C << " of " << attrs.n_tokens << " tokens)\n"
          << std::fixed << std::setprecision(3);
  std::vector<HeadCorrelation> all_heads;
  LayerFields fields;
  fields.v = false;
  fields.o_proj = false;
  for (int l : layers) {
    const LayerTensors t = dump.read_layer(l, fields);
    summary << "  layer " << l << ":";
    if (pca) {
      const KeptSetProvider* kept = options.kept ? &options.kept->positions : nullptr;
      std::vector<HeadPca> heads;
      try {
        heads = pca_layer(t.q, t.k, C, attrs.scale(), l, kept);
      } catch (const std::out_of_range& e) {
        throw InputError("kept set for layer " + std::to_string(l) + ": " + e.what());
      }
      double rank = 0, kept_rank = 0;
      for (const auto& h : heads) {
        pca->add(h);
        rank += h.pca.effective_rank() / heads.size();
        if (h.kept_stats) kept_rank += h.kept_stats->effective_rank / heads.size();
      }
      summary << " PCA effective rank " << rank << " of d=" << attrs.head_dim;
      if (options.kept) summary << " (kept set " << kept_rank << ")";
    }
    if (corr) {
      auto heads = correlate_layer(t.q, t.k, C, attrs.scale(), l, options.n_bins);
      for (const auto& h : heads) corr->add_head(h);
      corr->add_summary(l, heads);
      const auto kd = summarize(heads, kScoreKeyDiff), kn = summarize(heads, kScoreKNorm);
      summary << " | Spearman rho mean keydiff " << kd.mean_rho << " (" << kd.share_rho_positive * 100
              << "% of heads > 0), knorm " << kn.mean_rho << " (" << kn.share_rho_positive * 100
              << "% > 0)";
      all_heads.insert(all_heads.end(), heads.begin(), heads.end());
    }
    summary << "\n";
  }
  if (corr) {
    corr->add_summary(-1, all_heads);
    const auto kd = summarize(all_heads, kScoreKeyDiff), kn = summarize(all_heads, kScoreKNorm);
    summary << "  pooled over " << kd.n_heads << " heads: Spearman rho keydiff mean " << kd.mean_rho
            << " median " << kd.median_rho << ", " << kd.share_rho_positive * 100
            << "% of heads > 0; knorm mean " << kn.mean_rho << " median " << kn.median_rho << ", "
            << kn.share_rho_positive * 100 << "% > 0\n";
  }

  std::vector<std::string> written;
  if (pca) {
    pca->commit();
    for (const char* f : {kPcaFile, kPcaSpectrumFile, kPcaPointsFile})
      written.push_back(out_path(options, f));
  }
  if (corr) {
    corr->commit();
    for (const char* f : {kCorrelationFile, kCorrelationBinsFile})
      written.push_back(out_path(options, f));
  }
  for (const auto& f : written) summary << "  wrote " << f << "\n";
  return {written, analysis_record(dump, options, C, layers)};
}

}  // namespace kvsim::analysis
