#include "sim/engine/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <numeric>

#include "io/errors.hpp"
#include "policies/kernels/gemm_tally.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/kernels/selection.hpp"
#include "sim/engine/layer_input.hpp"
#include "sim/engine/metrics.hpp"
#include "sim/engine/replay.hpp"
#include "sim/engine/sweep_plan.hpp"
#include "sim/engine/unit_rows.hpp"

namespace kvsim {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

std::uint64_t DumpLayerSource::stored_bytes(int layer, bool q_pre_rope) const {
  std::uint64_t bytes = 0;
  for (const char* name : {"q", "k", "v", "o_proj"}) bytes += reader_.stored_bytes(layer, name);
  if (q_pre_rope) bytes += reader_.stored_bytes(layer, "q_pre_rope");
  return bytes;
}

LayerTensors DumpLayerSource::read_layer(int layer, bool q_pre_rope) const {
  LayerFields f;
  f.o_proj = reader_.has(layer, "o_proj");
  f.q_pre_rope = q_pre_rope && reader_.has(layer, "q_pre_rope");
  return reader_.read_layer(layer, f);
}

bool MemoryLayerSource::has_o_proj() const {
  for (const auto& l : layers_)
    if (!l.o_proj) return false;
  return !layers_.empty();
}

namespace {

// One sweep from plan to rows. The steps, in order: load the units an earlier
// run finished (resume), the model-wide pre-pass, the layer pass (each layer
// read once for every unfinished item), and the rows in canonical order.
class SweepRun {
 public:
  SweepRun(const LayerSource& source, const SweepSpec& spec, SweepPlan plan)
      : source_(source), spec_(spec), plan_(std::move(plan)),
        nI_(static_cast<int>(plan_.items.size())), nL_(static_cast<int>(plan_.layers.size())),
        nB_(static_cast<int>(plan_.budget_tokens.size())),
        records_(nI_, std::vector<UnitRecord>(nL_)), done_(nI_, std::vector<char>(nL_, 0)) {
    res_.geom = plan_.geom;
    res_.layers = plan_.layers;
    res_.items = plan_.items;
    res_.budget_tokens = plan_.budget_tokens;
    res_.warnings = plan_.warnings;
    res_.select_seconds.assign(nI_, 0.0);
    res_.metric_seconds.assign(nI_, 0.0);
    res_.select_gemm_flops.assign(nI_, 0.0);
    res_.select_gemm_thread_seconds.assign(nI_, 0.0);
    if (spec_.keep_sets) res_.kept.assign(nI_, std::vector<KeptSet>(nL_));
    res_.units_total = long(nI_) * nL_;
  }

  SweepResult run() {
    load_finished_units();
    model_prepass();
    if (res_.stopped) return std::move(res_);
    for (int li = 0; li < nL_ && !res_.stopped; ++li) layer_pass(li);
    assemble_rows();
    return std::move(res_);
  }

 private:
  bool stop() const { return spec_.stop_requested && spec_.stop_requested(); }
  bool computes(int layer) const { return !spec_.computes_layer || spec_.computes_layer(layer); }
  bool unfinished(int i) const { return std::count(done_[i].begin(), done_[i].end(), 0) > 0; }
  Policy& policy_of(int i) { return *plan_.policies[i]; }

  // Units finished by an earlier run of this sweep (--resume) are loaded, not recomputed.
  void load_finished_units() {
    if (!spec_.store) return;
    for (int i = 0; i < nI_; ++i)
      for (int li = 0; li < nL_; ++li)
        if (spec_.store->load(i, plan_.layers[li], records_[i][li])) {
          done_[i][li] = 1;
          ++res_.units_resumed;
        }
  }

  // Model-wide pooling (laprox:mode=model): one-shot scores of every layer
  // (only scores are stored), then top L*G*N over the model, each (layer, KV
  // head) keeping >= pooled_floor_per_head(N).
  void model_prepass() {
    std::vector<int> model_policies;
    for (int p = 0; p < plan_.n_policies(); ++p) {
      bool needed = false;
      for (int i = 0; i < nI_; ++i) needed |= plan_.items[i].policy == p && unfinished(i);
      if (plan_.policy(p).pooling() == Pooling::model && needed) model_policies.push_back(p);
    }
    if (model_policies.empty()) return;
    if (!computes(plan_.layers[0])) return;  // model-wide pooling makes the dump one unit: another rank's
    const auto t0 = Clock::now();
    const int C = plan_.geom.C;
    std::vector<std::vector<Scores>> scores(model_policies.size(), std::vector<Scores>(nL_));
    std::vector<int> layer_G(nL_);  // KV heads left per layer (--allow-nonfinite may drop some)
    for (int li = 0; li < nL_; ++li) {
      if (stop()) {
        res_.stopped = true;
        return;
      }
      std::vector<SkippedUnit> ignored;
      const FilteredLayer L = load_layer(source_, plan_.geom, plan_.layers[li], spec_.allow_nonfinite, ignored, plan_.uses_q_pre_rope);
      layer_G[li] = L.geom.G;
      if (L.geom.G == 0) continue;
      LayerShared shared;
      for (std::size_t k = 0; k < model_policies.size(); ++k) {
        // The item at the first budget scores for all budgets of its policy:
        // a one-shot score does not depend on the budget.
        Policy& pol = *plan_.policies[std::size_t(model_policies[k]) * nB_];
        pol.prepare_layer(L.x, L.geom, shared);
        ReplayOptions o = spec_.options;
        o.sinks = o.recent = 0;  // protections are applied model-wide below
        scores[k][li] = oneshot_scores(pol, L.x, L.geom, plan_.layers[li], 0, o, shared);
      }
      if (spec_.progress) spec_.progress(li + 1, 2L * nL_);
    }
    const long total_G = std::accumulate(layer_G.begin(), layer_G.end(), 0L);
    for (std::size_t k = 0; k < model_policies.size(); ++k) {
      KeptSet cand;
      Scores all;
      for (int li = 0; li < nL_; ++li)
        for (int g = 0; g < layer_G[li]; ++g) {
          std::vector<int> c(C);
          std::iota(c.begin(), c.end(), 0);
          cand.push_back(std::move(c));
          all.push_back(std::move(scores[k][li][g]));
        }
      apply_protections(cand, all, spec_.options.sinks, spec_.options.recent, C);
      for (int i = 0; i < nI_; ++i) {
        if (plan_.items[i].policy != model_policies[k]) continue;
        const int N = plan_.items[i].budget_tokens;
        KeptSet sel = N >= C ? cand : select_pooled(cand, all, total_G * N, policy_of(i).pooled_floor(N));
        auto& per_layer = model_kept_[i];
        per_layer.resize(nL_);
        long offset = 0;
        for (int li = 0; li < nL_; ++li) {
          per_layer[li].assign(sel.begin() + offset, sel.begin() + offset + layer_G[li]);
          offset += layer_G[li];
        }
      }
    }
    res_.prepass_seconds = since(t0);
  }

  // What the layer pass computes for the items of one layer.
  struct LayerWork {
    std::vector<int> todo;
    std::vector<char> ran;
    std::vector<std::exception_ptr> failed;
    std::vector<KeptSet> kept;
    std::vector<LayerMetrics> metrics;
    std::vector<std::vector<double>> oracle_recall;  // [budget]
  };

  // Each layer is read once and serves every unfinished item.
  void layer_pass(int li) {
    const int layer = plan_.layers[li];
    LayerWork w;
    for (int i = 0; i < nI_; ++i)
      if (!done_[i][li]) w.todo.push_back(i);
    if (w.todo.empty()) return;  // every unit of this layer was resumed: not even read
    if (!computes(layer)) return;  // another rank's unit
    if (stop()) {
      res_.stopped = true;
      return;
    }
    const auto t0 = Clock::now();
    std::vector<SkippedUnit> skipped;
    LayerLoadStats load;
    const FilteredLayer L =
        load_layer(source_, plan_.geom, layer, spec_.allow_nonfinite, skipped, plan_.uses_q_pre_rope, &load);
    res_.read_seconds += since(t0);
    res_.read_io_seconds += load.io_seconds;
    res_.read_check_seconds += load.check_seconds;
    res_.read_bytes += load.bytes;

    w.ran.assign(nI_, 0);
    w.failed.resize(nI_);
    w.kept.resize(nI_);
    w.metrics.resize(nI_);
    w.oracle_recall.resize(nB_);
    if (L.geom.G == 0) {
      for (int i : w.todo) w.ran[i] = 1;  // every KV head skipped: the layer has no rows
    } else {
      compute_future_attention(L.x, L.geom, fa_);
      res_.future_seconds += fa_.kernel_seconds;
      res_.future_flops += fa_.kernel_flops;
      LayerShared shared;
      shared.future = &fa_;
      for (int p = 0; p < plan_.n_policies(); ++p) plan_.policy(p).prepare_layer(L.x, L.geom, shared);
      select_kept_sets(L, li, shared, w);
      measure(L, w);
    }
    store_units(L, li, skipped, w);
    for (int i : w.todo)
      if (w.failed[i]) std::rethrow_exception(w.failed[i]);
    for (int i : w.todo)
      if (!w.ran[i]) res_.stopped = true;  // skipped because a stop was requested
    if (res_.stopped) return;
    if (spec_.progress)
      spec_.progress(model_kept_.empty() ? li + 1 : nL_ + li + 1, model_kept_.empty() ? nL_ : 2L * nL_);
  }

  // Every unfinished item's kept set, one item after another: each policy
  // parallelises its own work over the KV heads (an attention-based selection
  // such as h2o's is most of a sweep; run beside cheap items it would get one
  // thread while the others idle). A unit that throws (a failing policy) does
  // not take the others down: they finish and are stored before the error is
  // reported.
  void select_kept_sets(const FilteredLayer& L, int li, const LayerShared& shared, LayerWork& w) {
    for (const int i : w.todo) {
      if (stop()) continue;
      const auto ts = Clock::now();
      const SweepItem& item = plan_.items[i];
      GemmTally gemm;
      try {
        const GemmTallyScope scope(&gemm);
        if (model_kept_.count(i))
          w.kept[i] = model_kept_.at(i)[li];
        else
          w.kept[i] = replay_layer(policy_of(i), L.x, L.geom, plan_.layers[li], item.budget_tokens, spec_.options,
                                   shared);
        w.ran[i] = 1;
      } catch (const InputError& e) {
        w.failed[i] = std::make_exception_ptr(
            InputError(item.policy_label + " at budget " + std::to_string(item.budget_tokens) + ": " + e.what()));
      } catch (...) {
        w.failed[i] = std::current_exception();
      }
      res_.select_seconds[i] += since(ts);
      res_.select_gemm_flops[i] += double(gemm.flops.load());
      res_.select_gemm_thread_seconds[i] += double(gemm.nanoseconds.load()) * 1e-9;
    }
  }

  // The budgets' top-N sets and oracle recall (shared by every policy at that
  // budget), then every selected item's metrics.
  void measure(const FilteredLayer& L, LayerWork& w) {
    std::vector<char> need(nB_, 0);
    for (int i : w.todo) need[plan_.items[i].budget] |= w.ran[i];
    std::vector<TopNSets> topn(nB_);
    parallel_for(nB_, [&](int b) {
      if (!need[b]) return;
      topn[b] = compute_topn(fa_, L.x, plan_.budget_tokens[b]);
      w.oracle_recall[b] =
          compute_metrics(fa_, L.x, oracle_kept(fa_, plan_.budget_tokens[b]), nullptr, true).attn_recall;
    });
    std::vector<int> ok;
    for (int i : w.todo)
      if (w.ran[i]) ok.push_back(i);
    parallel_for(static_cast<int>(ok.size()), [&](int k) {
      const int i = ok[k];
      const auto ts = Clock::now();
      w.metrics[i] = compute_metrics(fa_, L.x, w.kept[i], &topn[plan_.items[i].budget], false);
      res_.metric_seconds[i] += since(ts);
    });
  }

  // Finished units become rows, checked, and go to the journal at once.
  void store_units(const FilteredLayer& L, int li, const std::vector<SkippedUnit>& skipped, LayerWork& w) {
    const int layer = plan_.layers[li];
    for (int i : w.todo) {
      if (!w.ran[i]) continue;
      UnitRecord& unit = records_[i][li];
      unit.skipped = skipped;
      if (L.geom.G > 0)
        layer_rows(i, layer, w.metrics[i], w.oracle_recall[plan_.items[i].budget], L.geom, L.heads, plan_.geom.H,
                   unit.rows);
      check_finite_rows(unit.rows, plan_.items[i], spec_.allow_nonfinite, nullptr);  // never journaled unchecked
      if (spec_.keep_sets) res_.kept[i][li] = std::move(w.kept[i]);
      done_[i][li] = 1;
      ++res_.units_computed;
      if (spec_.store) spec_.store->save(i, layer, unit);
    }
  }

  // Canonical order whatever mix of resumed and computed units: item, layer, metric, head.
  void assemble_rows() {
    for (int li = 0; li < nL_ && !res_.stopped; ++li)
      for (const auto& s : records_[0][li].skipped) res_.skipped.push_back(s);
    for (int i = 0; i < nI_; ++i)
      for (int li = 0; li < nL_; ++li) {
        if (!done_[i][li]) {
          res_.complete = false;
          continue;
        }
        check_finite_rows(records_[i][li].rows, plan_.items[i], spec_.allow_nonfinite, &res_.warnings);
        for (const auto& r : records_[i][li].rows) {
          res_.rows.push_back(r);
          res_.rows.back().item = i;
        }
      }
  }

  const LayerSource& source_;
  const SweepSpec& spec_;
  SweepPlan plan_;
  const int nI_, nL_, nB_;
  SweepResult res_;
  std::vector<std::vector<UnitRecord>> records_;  // [item][layer index]
  std::vector<std::vector<char>> done_;           // [item][layer index]
  std::map<int, std::vector<KeptSet>> model_kept_;  // item -> [layer index] (model-wide pooling)
  FutureAttention fa_;                              // buffers reused layer after layer
};

}  // namespace

SweepResult run_sweep(const LayerSource& source, const SweepSpec& spec) {
  const auto t_start = Clock::now();
  SweepResult res = SweepRun(source, spec, plan_sweep(source, spec)).run();
  res.wall_seconds = since(t_start);
  return res;
}

}  // namespace kvsim
