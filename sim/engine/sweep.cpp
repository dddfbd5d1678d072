#include "sim/engine/sweep.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "io/errors.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/kernels/selection.hpp"
#include "sim/engine/magnitudes.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/nonfinite.hpp"
#include "sim/engine/replay.hpp"

namespace kvsim {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

// A layer as the engine sees it: read, shape-checked, and with non-finite
// (layer, KV head) units either rejected or (allow_nonfinite) dropped.
FilteredLayer load_layer(const LayerSource& source, const LayerGeom& geom, int layer,
                         bool allow_nonfinite, std::vector<SkippedUnit>& skipped) {
  LayerTensors x = source.read_layer(layer);
  check_layer_shapes(x, geom, layer);
  std::vector<std::string> bad = find_nonfinite(x, geom, layer);
  const std::vector<std::string> overflow = find_logit_overflow(x, geom, layer);
  for (int g = 0; g < geom.G; ++g)
    if (bad[g].empty()) bad[g] = overflow[g];
  std::vector<bool> keep(geom.G, true);
  bool any = false;
  for (int g = 0; g < geom.G; ++g) {
    if (bad[g].empty()) continue;
    if (!allow_nonfinite) {
      const std::string origin = source.origin();
      throw InputError((origin.empty() ? "" : origin + ": ") + "layer " + std::to_string(layer) + ": " +
                       bad[g] + "; rerun with --allow-nonfinite to skip such (layer, KV head) units");
    }
    keep[g] = false;
    any = true;
    skipped.push_back({layer, g, bad[g]});
  }
  if (any) {
    FilteredLayer f = drop_kv_heads(x, geom, keep);
    rescale_values_exactly(f.x);
    return f;
  }
  rescale_values_exactly(x);
  FilteredLayer f;
  f.x = std::move(x);
  f.geom = geom;
  f.heads.resize(geom.H);
  std::iota(f.heads.begin(), f.heads.end(), 0);
  return f;
}

// The rows of one (item, layer) unit: per-head metrics (original head ids),
// layer_out_err (only when every head is present: y needs all of them), and
// the per-layer summaries over the heads present.
void layer_rows(int item, int layer, const LayerMetrics& m, const std::vector<double>& oracle_recall,
                const LayerGeom& lg, const std::vector<int>& heads, int all_H, std::vector<MetricRow>& out) {
  std::vector<std::vector<double>> per(kNumHeadMetrics, std::vector<double>(lg.H));
  for (int h = 0; h < lg.H; ++h) {
    per[kAttnRecall][h] = m.attn_recall[h];
    per[kTopkRecall][h] = m.topk_recall[h];
    per[kOracleGap][h] = oracle_recall[h] - m.attn_recall[h];
    per[kHeadOutErr][h] = m.head_out_err[h];
    per[kKeptFraction][h] = m.kept_fraction[lg.kv_of(h)];
  }
  for (int k = 0; k < kNumHeadMetrics; ++k)
    for (int h = 0; h < lg.H; ++h) out.push_back({item, layer, heads[h], k, per[k][h]});
  if (m.has_layer_err && lg.H == all_H) out.push_back({item, layer, -1, kLayerOutErr, m.layer_out_err});
  for (int k = 0; k < kNumHeadMetrics; ++k) {
    const auto& v = per[k];
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
    const double vals[4] = {mean, quantile(v, 0.5), quantile(v, 0.95), *std::min_element(v.begin(), v.end())};
    for (int s = 0; s < 4; ++s) out.push_back({item, layer, -1, kFirstSummary + 4 * k + s, vals[s]});
  }
}
}  // namespace

namespace {
// A non-finite metric value must never reach results.csv unnoticed: an
// InputError naming where it is, or with --allow-nonfinite a warning.
void check_finite_rows(const std::vector<MetricRow>& rows, const SweepItem& item, bool allow_nonfinite,
                       WarningLog* warnings) {
  for (const auto& r : rows) {
    if (std::isfinite(r.value)) continue;
    const std::string what = "layer " + std::to_string(r.layer) + ", head " + std::to_string(r.head) + ": " +
                             metric_name(r.metric) + " of " + item.policy_label + " at budget " +
                             std::to_string(item.budget_tokens) + " is " + (std::isnan(r.value) ? "nan" : "inf");
    if (!allow_nonfinite)
      throw InputError(what + "; the layer's values are beyond what kvsim computes with (check the dump "
                              "with kvsim inspect --stats); --allow-nonfinite keeps such values");
    if (warnings)
      warnings->add({"nonfinite_metric", what + " (kept in results.csv: --allow-nonfinite)", "",
                     item.policy_label, item.budget_tokens, r.layer});
  }
}
}  // namespace

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
  if (spec.options.block < 0)
    throw UsageError("--block " + std::to_string(spec.options.block) + ": must be >= 0 (0 = one-shot)");
  if (spec.options.sinks < 0) throw UsageError("--sinks must be >= 0");
  if (spec.options.recent < 0) throw UsageError("--recent must be >= 0");
  if (spec.policies.empty() || spec.budgets.empty()) throw UsageError("no policy or no budget");

  res.layers = select_layers(spec.layers, attrs.n_layers);
  const int nL = static_cast<int>(res.layers.size());

  // Policies: validate against the geometry and the dump before any work.
  std::vector<std::unique_ptr<Policy>> protos;
  for (const auto& ps : spec.policies) {
    protos.push_back(make_policy(ps));
    protos.back()->check(geom);
    if (protos.back()->needs_o_proj() && !source.has_o_proj())
      throw InputError((source.origin().empty() ? "" : source.origin() + ": ") + "policy " + ps.label() +
                       " needs the output projection o_proj (/layers/<l>/o_proj), which the dump "
                       "lacks; choose another policy or capture o_proj");
  }
  // The same policy twice (also spelled differently: "snapkv" and
  // "snapkv:window=64") would give duplicate rows from double work.
  for (std::size_t a = 0; a < spec.policies.size(); ++a)
    for (std::size_t b = 0; b < a; ++b) {
      const PolicySpec &pa = spec.policies[a], &pb = spec.policies[b];
      if (pa.name != pb.name || pa.params.values != pb.params.values) continue;
      if (pa.label() == pb.label())
        throw UsageError("--policies: '" + pa.label() + "' is listed twice; list each policy once");
      throw UsageError("--policies: '" + pb.label() + "' and '" + pa.label() +
                       "' are the same policy with the same parameters; list each policy once");
    }
  // Budgets as used: a count above C keeps all C tokens (clamped, with a warning);
  // two budgets that keep the same N would give duplicate rows.
  std::vector<int> budget_tokens;
  for (std::size_t i = 0; i < spec.budgets.size(); ++i) {
    const BudgetSpec& b = spec.budgets[i];
    int n = b.tokens(C);
    if (n < 1)
      throw UsageError("--budget " + b.text + ": keeps 0 of the " + std::to_string(C) +
                       " context tokens; a budget must keep at least 1");
    if (n > C) {
      res.warnings.add({"budget_above_context",
                        "--budget " + b.text + ": keeps all " + std::to_string(C) +
                            " context tokens; equivalent to full (nothing is evicted); results use budget " +
                            std::to_string(C),
                        "--budget", "", C, -1});
      n = C;
    }
    for (std::size_t j = 0; j < i; ++j)
      if (budget_tokens[j] == n) {
        const std::string& other = spec.budgets[j].text;
        const std::string keeps = std::to_string(n) + " of the " + std::to_string(C) + " context tokens";
        throw UsageError(other == b.text
                             ? "--budgets: '" + b.text + "' is listed twice (it keeps " + keeps + "); list each budget once"
                             : "--budgets: '" + other + "' and '" + b.text + "' both keep " + keeps +
                                   "; list each budget once");
      }
    budget_tokens.push_back(n);
  }
  res.budget_tokens = budget_tokens;

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
      if (it.budget_tokens < C)
        for (const auto& c : protos[p]->caveats(it.budget_tokens, geom))
          res.warnings.add({c.code, it.policy_label + " at budget " + std::to_string(it.budget_tokens) + ": " + c.message,
                            "", it.policy_label, it.budget_tokens, -1});
      res.items.push_back(it);
      inst.push_back(make_policy(spec.policies[p]));
    }
  const int nI = static_cast<int>(res.items.size());
  res.select_seconds.assign(nI, 0.0);
  res.metric_seconds.assign(nI, 0.0);
  if (spec.keep_sets) res.kept.assign(nI, std::vector<KeptSet>(nL));

  res.units_total = long(nI) * nL;
  auto stop = [&] { return spec.stop_requested && spec.stop_requested(); };

  // Units finished by an earlier run of this sweep (--resume) are loaded, not recomputed.
  std::vector<std::vector<UnitRecord>> records(nI, std::vector<UnitRecord>(nL));
  std::vector<std::vector<char>> done(nI, std::vector<char>(nL, 0));
  if (spec.store)
    for (int i = 0; i < nI; ++i)
      for (int li = 0; li < nL; ++li)
        if (spec.store->load(i, res.layers[li], records[i][li])) {
          done[i][li] = 1;
          ++res.units_resumed;
        }
  auto unfinished = [&](int i) { return std::count(done[i].begin(), done[i].end(), 0) > 0; };

  // Model-wide pre-pass: one-shot scores of every layer (only scores are stored),
  // then top L*G*N over the model, each (layer, KV head) keeping >= floor(0.2 N).
  std::map<int, std::vector<KeptSet>> model_kept;  // item -> [layer index]
  {
    std::vector<int> model_policies;
    for (int p = 0; p < static_cast<int>(protos.size()); ++p) {
      bool needed = false;
      for (int i = 0; i < nI; ++i) needed |= res.items[i].policy == p && unfinished(i);
      if (protos[p]->pooling() == Pooling::model && needed) model_policies.push_back(p);
    }
    if (!model_policies.empty()) {
      const auto t0 = Clock::now();
      std::vector<std::vector<Scores>> scores(model_policies.size(), std::vector<Scores>(nL));
      std::vector<int> layer_G(nL);  // KV heads left per layer (--allow-nonfinite may drop some)
      for (int li = 0; li < nL; ++li) {
        if (stop()) {
          res.stopped = true;
          return res;
        }
        std::vector<SkippedUnit> ignored;
        const FilteredLayer L = load_layer(source, geom, res.layers[li], spec.allow_nonfinite, ignored);
        layer_G[li] = L.geom.G;
        if (L.geom.G == 0) continue;
        LayerShared shared;
        for (std::size_t k = 0; k < model_policies.size(); ++k) {
          auto pol = make_policy(spec.policies[model_policies[k]]);
          pol->prepare_layer(L.x, L.geom, shared);
          ReplayOptions o = spec.options;
          o.sinks = o.recent = 0;  // protections are applied model-wide below
          scores[k][li] = oneshot_scores(*pol, L.x, L.geom, res.layers[li], 0, o, shared);
        }
        if (spec.progress) spec.progress(li + 1, 2L * nL);
      }
      const long total_G = std::accumulate(layer_G.begin(), layer_G.end(), 0L);
      for (std::size_t k = 0; k < model_policies.size(); ++k) {
        KeptSet cand;
        Scores all;
        for (int li = 0; li < nL; ++li)
          for (int g = 0; g < layer_G[li]; ++g) {
            std::vector<int> c(C);
            std::iota(c.begin(), c.end(), 0);
            cand.push_back(std::move(c));
            all.push_back(std::move(scores[k][li][g]));
          }
        apply_protections(cand, all, spec.options.sinks, spec.options.recent, C);
        for (int i = 0; i < nI; ++i) {
          if (res.items[i].policy != model_policies[k]) continue;
          const int N = res.items[i].budget_tokens;
          KeptSet sel = N >= C ? cand : select_pooled(cand, all, total_G * N, pooled_floor_per_head(N));
          auto& per_layer = model_kept[i];
          per_layer.resize(nL);
          long offset = 0;
          for (int li = 0; li < nL; ++li) {
            per_layer[li].assign(sel.begin() + offset, sel.begin() + offset + layer_G[li]);
            offset += layer_G[li];
          }
        }
      }
      res.prepass_seconds = since(t0);
    }
  }

  // Main pass: each layer is read once and serves every unfinished item.
  const int nB = static_cast<int>(spec.budgets.size());
  FutureAttention fa;  // buffers reused layer after layer
  for (int li = 0; li < nL; ++li) {
    const int layer = res.layers[li];
    std::vector<int> todo;
    for (int i = 0; i < nI; ++i)
      if (!done[i][li]) todo.push_back(i);
    if (todo.empty()) continue;  // every unit of this layer was resumed: not even read
    if (stop()) {
      res.stopped = true;
      break;
    }
    auto t0 = Clock::now();
    std::vector<SkippedUnit> skipped;
    const FilteredLayer L = load_layer(source, geom, layer, spec.allow_nonfinite, skipped);
    const LayerGeom& lg = L.geom;
    res.read_seconds += since(t0);

    std::vector<char> ran(nI, 0);
    std::vector<std::exception_ptr> failed(nI);
    std::vector<KeptSet> kept(nI);
    std::vector<LayerMetrics> met(nI);
    std::vector<std::vector<double>> oracle_recall(nB);
    if (lg.G == 0) {
      for (int i : todo) ran[i] = 1;  // every KV head skipped: the layer has no rows
    } else {
      compute_future_attention(L.x, lg, fa);
      res.future_seconds += fa.kernel_seconds;
      res.future_flops += fa.kernel_flops;
      LayerShared shared;
      shared.future = &fa;
      for (const auto& p : protos) p->prepare_layer(L.x, lg, shared);

      // A unit that throws (a failing policy) does not take the others down:
      // they finish and are stored before the error is reported.
      parallel_for(static_cast<int>(todo.size()), [&](int k) {
        const int i = todo[k];
        if (stop()) return;
        const auto ts = Clock::now();
        try {
          if (model_kept.count(i))
            kept[i] = model_kept.at(i)[li];
          else
            kept[i] = replay_layer(*inst[i], L.x, lg, layer, res.items[i].budget_tokens, spec.options,
                                   shared);
          ran[i] = 1;
        } catch (const InputError& e) {
          failed[i] = std::make_exception_ptr(InputError(res.items[i].policy_label + " at budget " +
                                                         std::to_string(res.items[i].budget_tokens) + ": " + e.what()));
        } catch (...) {
          failed[i] = std::current_exception();
        }
        res.select_seconds[i] += since(ts);
      });

      std::vector<char> need(nB, 0);
      for (int i : todo) need[res.items[i].budget] |= ran[i];
      std::vector<TopNSets> topn(nB);
      parallel_for(nB, [&](int b) {
        if (!need[b]) return;
        topn[b] = compute_topn(fa, L.x, budget_tokens[b]);
        oracle_recall[b] =
            compute_metrics(fa, L.x, oracle_kept(fa, budget_tokens[b]), nullptr, true).attn_recall;
      });

      std::vector<int> ok;
      for (int i : todo)
        if (ran[i]) ok.push_back(i);
      parallel_for(static_cast<int>(ok.size()), [&](int k) {
        const int i = ok[k];
        const auto ts = Clock::now();
        met[i] = compute_metrics(fa, L.x, kept[i], &topn[res.items[i].budget], false);
        res.metric_seconds[i] += since(ts);
      });
    }

    for (int i : todo) {
      if (!ran[i]) continue;
      UnitRecord& unit = records[i][li];
      unit.skipped = skipped;
      if (lg.G > 0) layer_rows(i, layer, met[i], oracle_recall[res.items[i].budget], lg, L.heads, geom.H, unit.rows);
      check_finite_rows(unit.rows, res.items[i], spec.allow_nonfinite, nullptr);  // never journaled unchecked
      if (spec.keep_sets) res.kept[i][li] = std::move(kept[i]);
      done[i][li] = 1;
      ++res.units_computed;
      if (spec.store) spec.store->save(i, layer, unit);
    }
    for (int i : todo)
      if (failed[i]) std::rethrow_exception(failed[i]);
    for (int i : todo)
      if (!ran[i]) res.stopped = true;  // skipped because a stop was requested
    if (res.stopped) break;
    if (spec.progress) spec.progress(model_kept.empty() ? li + 1 : nL + li + 1, model_kept.empty() ? nL : 2L * nL);
  }

  // Canonical order whatever mix of resumed and computed units: item, layer, metric, head.
  for (int li = 0; li < nL && !res.stopped; ++li)
    for (const auto& s : records[0][li].skipped) res.skipped.push_back(s);
  for (int i = 0; i < nI; ++i)
    for (int li = 0; li < nL; ++li) {
      check_finite_rows(records[i][li].rows, res.items[i], spec.allow_nonfinite, &res.warnings);
      for (const auto& r : records[i][li].rows) {
        res.rows.push_back(r);
        res.rows.back().item = i;
      }
    }
  res.wall_seconds = since(t_start);
  return res;
}

}  // namespace kvsim
