#include "sim/sweep.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "io/errors.hpp"
#include "sim/kernels.hpp"
#include "sim/metrics.hpp"
#include "sim/replay.hpp"

namespace kvsim {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
const char* kHeadMetricNames[kNumHeadMetrics] = {"attn_recall", "topk_recall", "oracle_gap",
                                                 "head_out_err", "kept_fraction"};
const char* kSummaryNames[4] = {"mean", "p50", "p95", "min"};

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}
}  // namespace

std::string metric_name(int metric) {
  if (metric < kNumHeadMetrics) return kHeadMetricNames[metric];
  if (metric == kLayerOutErr) return "layer_out_err";
  const int s = metric - kFirstSummary;
  return std::string(kHeadMetricNames[s / 4]) + "_" + kSummaryNames[s % 4];
}

LayerTensors DumpLayerSource::read_layer(int layer) const {
  LayerFields f;
  f.o_proj = reader_.has(layer, "o_proj");
  return reader_.read_layer(layer, f);
}

bool MemoryLayerSource::has_o_proj() const {
  for (const auto& l : layers_)
    if (!l.o_proj) return false;
  return !layers_.empty();
}

SweepResult run_sweep(const LayerSource& source, const SweepSpec& spec) {
  const auto t_start = Clock::now();
  const DumpAttrs& attrs = source.attrs();
  const int C = resolve_context_len(attrs, spec.options.window);
  SweepResult res;
  res.geom = LayerGeom::from(attrs, C);
  const LayerGeom& geom = res.geom;
  if (geom.G <= 0 || geom.H % geom.G != 0)
    throw InputError("n_heads must be a multiple of n_kv_heads");
  if (spec.options.block < 0) throw UsageError("--block must be >= 0");
  if (spec.options.sinks < 0) throw UsageError("--sinks must be >= 0");
  if (spec.options.recent < 0) throw UsageError("--recent must be >= 0");
  if (spec.policies.empty() || spec.budgets.empty()) throw UsageError("no policy or no budget");

  res.layers = spec.layers;
  if (res.layers.empty()) {
    res.layers.resize(attrs.n_layers);
    std::iota(res.layers.begin(), res.layers.end(), 0);
  }
  for (int l : res.layers)
    if (l < 0 || l >= attrs.n_layers)
      throw UsageError("--layers: layer " + std::to_string(l) + " out of range [0, " +
                       std::to_string(attrs.n_layers) + ")");
  const int nL = static_cast<int>(res.layers.size());

  // Policies: validate against the geometry and the dump before any work.
  std::vector<std::unique_ptr<Policy>> protos;
  for (const auto& ps : spec.policies) {
    protos.push_back(make_policy(ps));
    protos.back()->check(geom);
    if (protos.back()->needs_o_proj() && !source.has_o_proj())
      throw InputError("policy " + ps.label() +
                       " needs the output projection o_proj (/layers/<l>/o_proj), which the dump "
                       "lacks; choose another policy or capture o_proj");
  }
  std::vector<int> budget_tokens;
  for (const auto& b : spec.budgets) budget_tokens.push_back(b.tokens(C));

  // Items: policy-major, then budget; one policy instance each (state is per item).
  std::vector<std::unique_ptr<Policy>> inst;
  for (int p = 0; p < static_cast<int>(spec.policies.size()); ++p)
    for (int b = 0; b < static_cast<int>(spec.budgets.size()); ++b) {
      SweepItem it;
      it.policy = p;
      it.budget = b;
      it.policy_label = spec.policies[p].label();
      it.budget_tokens = budget_tokens[b];
      it.budget_ratio = double(budget_tokens[b]) / C;
      it.block = protos[p]->pooling() == Pooling::model ? 0 : spec.options.block;
      res.items.push_back(it);
      inst.push_back(make_policy(spec.policies[p]));
    }
  const int nI = static_cast<int>(res.items.size());
  res.select_seconds.assign(nI, 0.0);
  res.metric_seconds.assign(nI, 0.0);
  if (spec.keep_sets) res.kept.assign(nI, std::vector<KeptSet>(nL));

  // Model-wide pre-pass: one-shot scores of every layer (only scores are stored),
  // then top L*G*N over the model, each (layer, KV head) keeping >= floor(0.2 N).
  std::map<int, std::vector<KeptSet>> model_kept;  // item -> [layer index]
  {
    std::vector<int> model_policies;
    for (int p = 0; p < static_cast<int>(protos.size()); ++p)
      if (protos[p]->pooling() == Pooling::model) model_policies.push_back(p);
    if (!model_policies.empty()) {
      const auto t0 = Clock::now();
      std::vector<std::vector<Scores>> scores(model_policies.size(), std::vector<Scores>(nL));
      for (int li = 0; li < nL; ++li) {
        const LayerTensors x = source.read_layer(res.layers[li]);
        check_layer_shapes(x, geom, res.layers[li]);
        LayerShared shared;
        for (std::size_t k = 0; k < model_policies.size(); ++k) {
          auto pol = make_policy(spec.policies[model_policies[k]]);
          pol->prepare_layer(x, geom, shared);
          ReplayOptions o = spec.options;
          o.sinks = o.recent = 0;  // protections are applied model-wide below
          scores[k][li] = oneshot_scores(*pol, x, geom, res.layers[li], 0, o, shared);
        }
        if (spec.progress) spec.progress(li + 1, 2L * nL);
      }
      for (std::size_t k = 0; k < model_policies.size(); ++k) {
        KeptSet cand;
        Scores all;
        for (int li = 0; li < nL; ++li)
          for (int g = 0; g < geom.G; ++g) {
            std::vector<int> c(C);
            std::iota(c.begin(), c.end(), 0);
            cand.push_back(std::move(c));
            all.push_back(std::move(scores[k][li][g]));
          }
        apply_protections(cand, all, spec.options.sinks, spec.options.recent, C);
        for (int i = 0; i < nI; ++i) {
          if (res.items[i].policy != model_policies[k]) continue;
          const int N = res.items[i].budget_tokens;
          KeptSet sel = N >= C ? cand
                               : select_pooled(cand, all, long(nL) * geom.G * N, N / 5);
          auto& per_layer = model_kept[i];
          per_layer.resize(nL);
          for (int li = 0; li < nL; ++li)
            per_layer[li].assign(sel.begin() + li * geom.G, sel.begin() + (li + 1) * geom.G);
        }
      }
      res.prepass_seconds = since(t0);
    }
  }

  // Main pass: each layer is read once and serves every item.
  std::vector<std::vector<MetricRow>> rows(nI);
  FutureAttention fa;  // buffers reused layer after layer
  for (int li = 0; li < nL; ++li) {
    const int layer = res.layers[li];
    auto t0 = Clock::now();
    const LayerTensors x = source.read_layer(layer);
    check_layer_shapes(x, geom, layer);
    res.read_seconds += since(t0);

    compute_future_attention(x, geom, fa);
    res.future_seconds += fa.kernel_seconds;
    res.future_flops += fa.kernel_flops;
    LayerShared shared;
    shared.future = &fa;
    for (const auto& p : protos) p->prepare_layer(x, geom, shared);

    std::vector<KeptSet> kept(nI);
    parallel_for(nI, [&](int i) {
      const auto ts = Clock::now();
      if (model_kept.count(i))
        kept[i] = model_kept.at(i)[li];
      else
        kept[i] = replay_layer(*inst[i], x, geom, layer, res.items[i].budget_tokens, spec.options,
                               shared);
      res.select_seconds[i] += since(ts);
    });

    const int nB = static_cast<int>(spec.budgets.size());
    std::vector<TopNSets> topn(nB);
    std::vector<std::vector<double>> oracle_recall(nB);
    parallel_for(nB, [&](int b) {
      topn[b] = compute_topn(fa, budget_tokens[b]);
      oracle_recall[b] =
          compute_metrics(fa, x, oracle_kept(fa, budget_tokens[b]), nullptr, true).attn_recall;
    });

    std::vector<LayerMetrics> met(nI);
    parallel_for(nI, [&](int i) {
      const auto ts = Clock::now();
      met[i] = compute_metrics(fa, x, kept[i], &topn[res.items[i].budget], false);
      res.metric_seconds[i] += since(ts);
    });

    for (int i = 0; i < nI; ++i) {
      const LayerMetrics& m = met[i];
      std::vector<std::vector<double>> per(kNumHeadMetrics, std::vector<double>(geom.H));
      for (int h = 0; h < geom.H; ++h) {
        per[kAttnRecall][h] = m.attn_recall[h];
        per[kTopkRecall][h] = m.topk_recall[h];
        per[kOracleGap][h] = oracle_recall[res.items[i].budget][h] - m.attn_recall[h];
        per[kHeadOutErr][h] = m.head_out_err[h];
        per[kKeptFraction][h] = m.kept_fraction[geom.kv_of(h)];
      }
      auto& out = rows[i];
      for (int k = 0; k < kNumHeadMetrics; ++k)
        for (int h = 0; h < geom.H; ++h) out.push_back({i, layer, h, k, per[k][h]});
      if (m.has_layer_err) out.push_back({i, layer, -1, kLayerOutErr, m.layer_out_err});
      for (int k = 0; k < kNumHeadMetrics; ++k) {
        const auto& v = per[k];
        const double mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
        const double vals[4] = {mean, quantile(v, 0.5), quantile(v, 0.95),
                                *std::min_element(v.begin(), v.end())};
        for (int s = 0; s < 4; ++s) out.push_back({i, layer, -1, kFirstSummary + 4 * k + s, vals[s]});
      }
      if (spec.keep_sets) res.kept[i][li] = std::move(kept[i]);
    }
    if (spec.progress) spec.progress(model_kept.empty() ? li + 1 : nL + li + 1, model_kept.empty() ? nL : 2L * nL);
  }
  for (auto& r : rows) res.rows.insert(res.rows.end(), r.begin(), r.end());
  res.wall_seconds = since(t_start);
  return res;
}

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
std::string fmt(double v, const char* f = "%.9g") {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
}  // namespace

std::string results_csv(const SweepResult& res, const std::string& dump_name) {
  std::ostringstream os;
  os << "dump,policy,budget,budget_ratio,block,layer,head,metric,value\n";
  const std::string dump = csv_field(dump_name);
  std::vector<std::string> prefix;
  for (const auto& it : res.items)
    prefix.push_back(dump + "," + csv_field(it.policy_label) + "," + std::to_string(it.budget_tokens) +
                     "," + fmt(it.budget_ratio, "%.6g") + "," + std::to_string(it.block) + ",");
  for (const auto& r : res.rows)
    os << prefix[r.item] << r.layer << "," << r.head << "," << metric_name(r.metric) << ","
       << fmt(r.value) << "\n";
  return os.str();
}

std::string summary_table(const SweepResult& res) {
  const int n = static_cast<int>(res.items.size());
  std::vector<double> rec(n, 0), herr(n, 0), lerr(n, 0);
  std::vector<int> nrec(n, 0), nl(n, 0);
  for (const auto& r : res.rows) {
    if (r.head < 0 && r.metric == kLayerOutErr) {
      lerr[r.item] += r.value;
      nl[r.item]++;
    } else if (r.head >= 0 && r.metric == kAttnRecall) {
      rec[r.item] += r.value;
      nrec[r.item]++;
    } else if (r.head >= 0 && r.metric == kHeadOutErr) {
      herr[r.item] += r.value;
    }
  }
  std::size_t w = 6;
  for (const auto& it : res.items) w = std::max(w, it.policy_label.size());
  std::ostringstream os;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-*s %8s %7s %12s %13s %14s\n", int(w), "policy", "budget", "ratio",
                "attn_recall", "head_out_err", "layer_out_err");
  os << buf;
  for (int i = 0; i < n; ++i) {
    const auto& it = res.items[i];
    const std::string le = nl[i] ? fmt(lerr[i] / nl[i], "%.4f") : "n/a";
    std::snprintf(buf, sizeof buf, "%-*s %8d %7.3f %12.4f %13.4f %14s\n", int(w),
                  it.policy_label.c_str(), it.budget_tokens, it.budget_ratio,
                  nrec[i] ? rec[i] / nrec[i] : 0.0, nrec[i] ? herr[i] / nrec[i] : 0.0, le.c_str());
    os << buf;
  }
  return os.str();
}

}  // namespace kvsim
