#pragma once
// Step 1 of a sweep: the spec checked against the data before any heavy work,
// and turned into items (policy × budget), each with its one policy instance.
#include <memory>
#include <vector>

#include "sim/engine/sweep.hpp"

namespace kvsim {

struct SweepPlan {
  LayerGeom geom;
  std::vector<int> layers;
  std::vector<int> budget_tokens;                 // [budget] N used (clamped to C)
  std::vector<SweepItem> items;                   // policy-major, then budget
  std::vector<std::unique_ptr<Policy>> policies;  // [item]: per-item state, built once per sweep
  WarningLog warnings;                            // budget clamps, policy caveats
  bool uses_q_pre_rope = false;                   // some policy reads the pre-RoPE queries

  // The instance of policy p that answers per-policy questions (pooling,
  // prepare_layer): the item of p at the first budget.
  const Policy& policy(int p) const { return *policies[std::size_t(p) * budget_tokens.size()]; }
  int n_policies() const { return static_cast<int>(items.size() / budget_tokens.size()); }
};

// UsageError / InputError exactly as run_sweep documents them.
SweepPlan plan_sweep(const LayerSource& source, const SweepSpec& spec);

}  // namespace kvsim
