#include "sim/engine/sweep_plan.hpp"

#include <string>

#include "io/errors.hpp"

namespace kvsim {

namespace {

void check_options(const LayerGeom& geom, const SweepSpec& spec) {
  if (geom.G <= 0 || geom.H % geom.G != 0) throw InputError("n_heads must be a multiple of n_kv_heads");
  if (spec.options.block < 0)
    throw UsageError("--block " + std::to_string(spec.options.block) + ": must be >= 0 (0 = one-shot)");
  if (spec.options.sinks < 0) throw UsageError("--sinks must be >= 0");
  if (spec.options.recent < 0) throw UsageError("--recent must be >= 0");
  if (spec.policies.empty() || spec.budgets.empty()) throw UsageError("no policy or no budget");
}

// Same name and resolved parameters, and the same inner policy (an allocator).
bool same_policy(const PolicySpec& a, const PolicySpec& b) {
  if (a.name != b.name || a.params.values != b.params.values || bool(a.inner) != bool(b.inner)) return false;
  return !a.inner || same_policy(*a.inner, *b.inner);
}

// The same policy twice (also spelled differently: "snapkv" and
// "snapkv:window=64") would give duplicate rows from double work.
void check_policies_distinct(const std::vector<PolicySpec>& policies) {
  for (std::size_t a = 0; a < policies.size(); ++a)
    for (std::size_t b = 0; b < a; ++b) {
      const PolicySpec &pa = policies[a], &pb = policies[b];
      if (!same_policy(pa, pb)) continue;
      if (pa.label() == pb.label())
        throw UsageError("--policies: '" + pa.label() + "' is listed twice; list each policy once");
      throw UsageError("--policies: '" + pb.label() + "' and '" + pa.label() +
                       "' are the same policy with the same parameters; list each policy once");
    }
}

// Budgets as used: a count above C keeps all C tokens (clamped, with a warning);
// two budgets that keep the same N would give duplicate rows.
std::vector<int> resolve_budgets(const std::vector<BudgetSpec>& budgets, int C, WarningLog& warnings) {
  std::vector<int> tokens;
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    const BudgetSpec& b = budgets[i];
    int n = b.tokens(C);
    if (n < 1)
      throw UsageError("--budget " + b.text + ": keeps 0 of the " + std::to_string(C) +
                       " context tokens; a budget must keep at least 1");
    if (n > C) {
      warnings.add({"budget_above_context",
                    "--budget " + b.text + ": keeps all " + std::to_string(C) +
                        " context tokens; equivalent to full (nothing is evicted); results use budget " +
                        std::to_string(C),
                    "--budget", "", C, -1});
      n = C;
    }
    for (std::size_t j = 0; j < i; ++j)
      if (tokens[j] == n) {
        const std::string& other = budgets[j].text;
        const std::string keeps = std::to_string(n) + " of the " + std::to_string(C) + " context tokens";
        throw UsageError(other == b.text
                             ? "--budgets: '" + b.text + "' is listed twice (it keeps " + keeps + "); list each budget once"
                             : "--budgets: '" + other + "' and '" + b.text + "' both keep " + keeps +
                                   "; list each budget once");
      }
    tokens.push_back(n);
  }
  return tokens;
}

}  // namespace

SweepPlan plan_sweep(const LayerSource& source, const SweepSpec& spec) {
  const DumpAttrs& attrs = source.attrs();
  const int C = resolve_context_len(attrs, spec.options.window);
  SweepPlan plan;
  plan.geom = LayerGeom::from(attrs, C);
  check_options(plan.geom, spec);
  plan.layers = select_layers(spec.layers, attrs.n_layers);

  // Items: policy-major, then budget; one policy instance each (state is per
  // item). A policy is checked against the geometry and the dump through the
  // instance of its first item, before any budget is looked at.
  const int nB = static_cast<int>(spec.budgets.size());
  for (const auto& ps : spec.policies) {
    plan.policies.push_back(make_policy(ps));
    const Policy& first = *plan.policies.back();
    first.check(plan.geom);
    plan.uses_q_pre_rope |= first.uses_q_pre_rope();
    if (first.needs_o_proj() && !source.has_o_proj())
      throw InputError((source.origin().empty() ? "" : source.origin() + ": ") + "policy " + ps.label() +
                       " needs the output projection o_proj (/layers/<l>/o_proj), which the dump "
                       "lacks; choose another policy or capture o_proj");
    for (int b = 1; b < nB; ++b) plan.policies.push_back(make_policy(ps));
  }
  check_policies_distinct(spec.policies);
  plan.budget_tokens = resolve_budgets(spec.budgets, C, plan.warnings);

  for (int p = 0; p < static_cast<int>(spec.policies.size()); ++p)
    for (int b = 0; b < nB; ++b) {
      const Policy& policy = *plan.policies[std::size_t(p) * nB + b];
      SweepItem it;
      it.policy = p;
      it.budget = b;
      it.policy_label = spec.policies[p].label();
      it.budget_tokens = plan.budget_tokens[b];
      it.budget_ratio = double(plan.budget_tokens[b]) / C;
      it.block = policy.pooling() == Pooling::model ? 0 : spec.options.block;
      if (it.budget_tokens < C)
        for (const auto& c : policy.caveats(it.budget_tokens, it.block, plan.geom))
          plan.warnings.add({c.code, it.policy_label + " at budget " + std::to_string(it.budget_tokens) + ": " +
                                         c.message,
                             "", it.policy_label, it.budget_tokens, -1});
      plan.items.push_back(it);
    }
  return plan;
}

}  // namespace kvsim
