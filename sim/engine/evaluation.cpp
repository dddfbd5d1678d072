#include "sim/engine/evaluation.hpp"

#include <cmath>
#include <sstream>

#include "analysis/metric_table.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"
#include "sim/model/capture.hpp"
#include "sim/model/continuation.hpp"

namespace kvsim {

namespace {
inline constexpr const char* kEvaluateHeader = "policy,budget,budget_ratio,block,position,metric,value";

// The compressed cache of item i: its kept context positions per layer and KV head.
ContextMask mask_of(const SweepResult& res, std::size_t item, int n_layers, int G, int C) {
  ContextMask m;
  m.context_len = C;
  m.kept.assign(n_layers, std::vector<std::vector<char>>(G, std::vector<char>(C, 0)));
  for (std::size_t li = 0; li < res.layers.size(); ++li)
    for (int g = 0; g < G; ++g)
      for (int p : res.kept.at(item).at(li).at(g)) m.kept[res.layers[li]][g][p] = 1;
  return m;
}

void check_context(int context_len, int T) {
  if (context_len < 1 || context_len > T - 2)
    throw InputError("--context-len " + std::to_string(context_len) + ": the " + std::to_string(T) +
                     " tokens must leave at least 2 after the context (1 <= C <= T - 2)");
}

// One shared prefill of the context; the continuation with the full cache
// and with each item's compressed cache (ev.offline.items and .kept).
void run_continuations(const LoadedModel& model, const std::vector<int>& tokens, Evaluation& ev) {
  const int C = ev.context_len;
  const Continuation continuation(model, tokens, C);
  const int W = continuation.future_len(), V = continuation.vocab();
  ev.future_len = W;
  ev.next.assign(W, -1);
  for (int r = 0; r + 1 < W; ++r) ev.next[r] = tokens[C + r + 1];
  const std::vector<float> full = continuation.logits(nullptr);
  for (std::size_t i = 0; i < ev.offline.items.size(); ++i) {
    const ContextMask mask = mask_of(ev.offline, i, model.config.n_layers, model.config.n_kv_heads, C);
    ev.divergence.push_back(analysis::next_token_divergence(full, continuation.logits(&mask), W, V, ev.next));
  }
}
}  // namespace

Evaluation evaluate_compression(const LoadedModel& model, const std::vector<int>& tokens, int context_len,
                                SweepSpec spec) {
  check_context(context_len, static_cast<int>(tokens.size()));
  Evaluation ev;
  ev.context_len = context_len;
  // 1. The run's own tensors (one prefill of all T tokens, as a capture).
  CaptureRequest request;
  request.prompt_tokens = tokens;
  request.context_len = context_len;
  const CaptureResult run = run_capture(model, request);
  DumpMetadata meta;
  meta.model_name = model.name;
  meta.source = model.format == "llama2c" ? "llama2c" : "kvsim-capture";
  std::vector<LayerTensors> layers;
  for (int l = 0; l < model.config.n_layers; ++l) layers.push_back(run.layer_tensors(model, l));
  const MemoryLayerSource source(capture_dump_attrs(model, run, meta), std::move(layers));
  spec.keep_sets = true;
  ev.offline = run_sweep(source, spec);
  if (!ev.offline.skipped.empty())
    throw InputError(model.name + ": the run's tensors hold NaN/Inf (layer " +
                     std::to_string(ev.offline.skipped.front().layer) + ")");
  // 2. The continuations with the full cache and each item's compressed one.
  for (const SweepItem& it : ev.offline.items)
    ev.keeps_all.push_back(make_policy(spec.policies.at(it.policy))->keep_all() || it.budget_tokens >= context_len);
  run_continuations(model, tokens, ev);
  return ev;
}

Evaluation evaluate_kept_sets(const LoadedModel& model, const std::vector<int>& tokens, int context_len,
                              const KeptSetsFile& kept) {
  check_context(context_len, static_cast<int>(tokens.size()));
  if (kept.context_len != context_len || kept.n_kv_heads != model.config.n_kv_heads)
    throw InputError("kept.h5 of '" + kept.dump + "': context " + std::to_string(kept.context_len) + ", " +
                     std::to_string(kept.n_kv_heads) + " KV heads; this run has context " + std::to_string(context_len) +
                     " and the model " + std::to_string(model.config.n_kv_heads) + " KV heads");
  Evaluation ev;
  ev.context_len = context_len;
  for (int l = 0; l < model.config.n_layers; ++l) ev.offline.layers.push_back(l);
  for (const KeptSetsItem& item : kept.items) {
    if (item.layers != ev.offline.layers)
      throw InputError("kept.h5 of '" + kept.dump + "': item " + item.policy + " holds " +
                       std::to_string(item.layers.size()) + " layers; evaluate needs all " +
                       std::to_string(model.config.n_layers) + " (the sweep ran with --layers?)");
    SweepItem it;
    it.policy = static_cast<int>(ev.offline.items.size());
    it.policy_label = item.policy;
    it.budget_tokens = item.budget_tokens;
    it.budget_ratio = item.budget_ratio;
    it.block = item.block;
    ev.offline.items.push_back(it);
    ev.offline.kept.push_back(item.kept);
    bool all = item.budget_tokens >= context_len;
    for (const KeptSet& layer : item.kept)
      for (const auto& head : layer) all = all && static_cast<int>(head.size()) == context_len;
    ev.keeps_all.push_back(all);
  }
  run_continuations(model, tokens, ev);
  return ev;
}

std::vector<double> Evaluation::mean_kl_of_compressing_items() const {
  std::vector<double> out;
  for (std::size_t i = 0; i < divergence.size(); ++i) {
    double kl = 0;
    for (double v : divergence[i].kl) kl += v;
    out.push_back(keeps_all[i] ? std::nan("") : kl / future_len);
  }
  return out;
}

std::map<std::pair<std::string, int>, std::vector<double>> Evaluation::offline_means() const {
  const std::size_t n = offline.items.size();
  std::map<std::pair<std::string, int>, std::vector<std::pair<double, long>>> acc;
  for (const MetricRow& r : offline.rows) {
    const bool per_head = r.metric < kNumHeadMetrics && r.metric != kKeptFraction && r.head >= 0;
    const bool layer_level = r.metric == kLayerOutErr && r.head < 0;
    if (!per_head && !layer_level) continue;
    for (int layer : {-1, r.layer}) {
      auto& a = acc[{metric_name(r.metric), layer}];
      a.resize(n, {0.0, 0});
      a[r.item].first += r.value;
      a[r.item].second += 1;
    }
  }
  std::map<std::pair<std::string, int>, std::vector<double>> out;
  for (const auto& [key, a] : acc)
    for (const auto& [sum, count] : a) out[key].push_back(count ? sum / count : std::nan(""));
  return out;
}

std::string Evaluation::evaluate_csv() const {
  std::ostringstream csv;
  csv << kEvaluateHeader << "\n";
  for (std::size_t i = 0; i < divergence.size(); ++i) {
    const SweepItem& it = offline.items[i];
    const auto& d = divergence[i];
    const std::string prefix = analysis::csv_field(it.policy_label) + "," + std::to_string(it.budget_tokens) + "," +
                               analysis::format_number(it.budget_ratio) + "," + std::to_string(it.block) + ",";
    double kl = 0, agree = 0, dlp = 0;
    int n_dlp = 0;
    for (int r = 0; r < future_len; ++r) {
      const int position = context_len + r;
      csv << prefix << position << ",kl," << analysis::format_number(d.kl[r]) << "\n"
          << prefix << position << ",top1_agree," << analysis::format_number(d.top1_agree[r]) << "\n";
      if (next[r] >= 0) csv << prefix << position << ",delta_logp," << analysis::format_number(d.delta_logp[r]) << "\n";
      kl += d.kl[r];
      agree += d.top1_agree[r];
      if (next[r] >= 0) {
        dlp += d.delta_logp[r];
        ++n_dlp;
      }
    }
    csv << prefix << "-1,kl," << analysis::format_number(kl / future_len) << "\n"
        << prefix << "-1,top1_agree," << analysis::format_number(agree / future_len) << "\n"
        << prefix << "-1,delta_logp," << analysis::format_number(n_dlp ? dlp / n_dlp : std::nan("")) << "\n";
  }
  return csv.str();
}

}  // namespace kvsim
