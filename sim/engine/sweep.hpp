#pragma once
// The sweep driver: every (policy, budget) over every layer, each layer read
// ONCE (the model-wide laprox mode is the one exception: it needs a pre-pass
// over the layers that stores only scores). Memory: one layer of tensors, its
// FutureAttention, and per-item kept sets/state.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/kvdump.hpp"
#include "sim/engine/metric_ids.hpp"
#include "policies/policy.hpp"
#include "sim/engine/replay_options.hpp"
#include "sim/engine/budget.hpp"
#include "sim/run/unit_store.hpp"
#include "sim/run/warnings.hpp"

namespace kvsim {

// Where layers come from: a kvdump file, in-memory tensors (tests), a generator (bench).
class LayerSource {
 public:
  virtual ~LayerSource() = default;
  virtual const DumpAttrs& attrs() const = 0;
  virtual bool has_o_proj() const = 0;
  // `q_pre_rope`: also the pre-RoPE queries where the source has them (a
  // policy that uses them asks; the others do not pay for reading them).
  virtual LayerTensors read_layer(int layer, bool q_pre_rope = false) const = 0;
  // Bytes read_layer reads from storage (for the read stage's roofline); 0
  // for sources that hold their tensors in memory.
  virtual std::uint64_t stored_bytes(int layer, bool q_pre_rope = false) const { return 0; }
  // Prefix for error messages about the data (the dump's path), or "".
  virtual std::string origin() const { return ""; }
};

class DumpLayerSource : public LayerSource {
 public:
  explicit DumpLayerSource(const DumpReader& reader) : reader_(reader) {}
  const DumpAttrs& attrs() const override { return reader_.attrs(); }
  std::uint64_t stored_bytes(int layer, bool q_pre_rope) const override;
  bool has_o_proj() const override { return reader_.has_o_proj(); }
  LayerTensors read_layer(int layer, bool q_pre_rope = false) const override;
  std::string origin() const override { return reader_.path(); }

 private:
  const DumpReader& reader_;
};

class MemoryLayerSource : public LayerSource {
 public:
  MemoryLayerSource(DumpAttrs attrs, std::vector<LayerTensors> layers)
      : attrs_(std::move(attrs)), layers_(std::move(layers)) {}
  const DumpAttrs& attrs() const override { return attrs_; }
  bool has_o_proj() const override;
  LayerTensors read_layer(int layer, bool = false) const override { return layers_.at(layer); }

 private:
  DumpAttrs attrs_;
  std::vector<LayerTensors> layers_;
};

class GeneratedLayerSource : public LayerSource {
 public:
  GeneratedLayerSource(DumpAttrs attrs, bool o_proj, std::function<LayerTensors(int)> gen)
      : attrs_(std::move(attrs)), o_proj_(o_proj), gen_(std::move(gen)) {}
  const DumpAttrs& attrs() const override { return attrs_; }
  bool has_o_proj() const override { return o_proj_; }
  LayerTensors read_layer(int layer, bool = false) const override { return gen_(layer); }

 private:
  DumpAttrs attrs_;
  bool o_proj_;
  std::function<LayerTensors(int)> gen_;
};

struct SweepSpec {
  std::vector<PolicySpec> policies;
  std::vector<BudgetSpec> budgets;
  ReplayOptions options;
  std::vector<int> layers;  // empty = all layers
  bool keep_sets = false;   // keep every item's kept sets in the result (tests, analysis)
  std::function<void(long done, long total)> progress;  // per-layer progress (stderr)
  // Non-finite q/k/v/o_proj, or q/k so large that the logits overflow
  // (sim/engine/magnitudes.hpp): false = InputError naming layer, head and token;
  // true = drop the affected (layer, KV head) units (SweepResult::skipped).
  // Also: a non-finite metric value is an error, or (true) kept with a warning.
  bool allow_nonfinite = false;
  UnitStore* store = nullptr;  // optional journal of finished units (kept sets of resumed units are not restored)
  std::function<bool()> stop_requested;   // polled before each unit; true = stop cleanly
  // Layers this process computes (MPI: its share of the units); empty = all.
  // Unfinished units of other layers are neither read nor computed, and their
  // rows are missing from the result (SweepResult::complete is false).
  std::function<bool(int layer)> computes_layer;
};

struct SweepItem {
  int policy = 0;  // index into SweepSpec::policies
  int budget = 0;  // index into SweepSpec::budgets
  std::string policy_label;
  int budget_tokens = 0;
  double budget_ratio = 0;
  int block = 0;  // block actually used (0 for one-shot-only modes)
};


struct SweepResult {
  LayerGeom geom;
  std::vector<int> layers;
  std::vector<SweepItem> items;
  std::vector<MetricRow> rows;             // ordered by item, then layer, then metric, then head
  std::vector<std::vector<KeptSet>> kept;  // [item][layer index] when keep_sets
  std::vector<double> select_seconds;      // [item] replay (selection) time, summed over layers
  std::vector<double> metric_seconds;      // [item]
  // [item] the selection's GEMMs (policies/kernels/gemm_tally.hpp): flops, and
  // thread-seconds spent in them
  std::vector<double> select_gemm_flops, select_gemm_thread_seconds;
  double future_seconds = 0, future_flops = 0, read_seconds = 0, prepass_seconds = 0;
  // read_seconds = read_io_seconds (storage -> float32 tensors) + read_check_seconds
  // (NaN/Inf, logit-overflow and rescale scans); read_bytes as stored.
  double read_io_seconds = 0, read_check_seconds = 0;
  std::uint64_t read_bytes = 0;
  double wall_seconds = 0;
  std::vector<SkippedUnit> skipped;  // in (layer, KV head) order
  std::vector<int> budget_tokens;    // [budget] N actually used (a count above C is clamped to C)
  WarningLog warnings;               // correct results with a caveat (sim/run/warnings.hpp)
  // Units = (item, layer) pairs. resumed: loaded from the store; computed: this run.
  long units_total = 0, units_resumed = 0, units_computed = 0;
  bool stopped = false;  // stop_requested() ended the run early: rows are incomplete
  bool complete = true;  // every unit is in `rows` (false: SweepSpec::computes_layer left some to others)
};

// Throws UsageError (bad policy parameters for this dump, a policy or budget
// listed twice, also after resolution: "64" and "0.5" when C = 128) or
// InputError (e.g. laprox on a dump without o_proj) before any heavy work.
SweepResult run_sweep(const LayerSource& source, const SweepSpec& spec);

}  // namespace kvsim
