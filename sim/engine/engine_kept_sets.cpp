#include "sim/engine/engine_kept_sets.hpp"

#include <map>
#include <memory>
#include <stdexcept>

#include "policies/policy.hpp"
#include "sim/engine/sweep.hpp"

namespace kvsim {

EngineKeptSets kept_sets_from_engine(const DumpReader& dump, const std::string& policy,
                                     const std::string& budget, const ReplayOptions& options,
                                     const std::vector<int>& layers) {
  SweepSpec spec;
  spec.policies.push_back(parse_policy_spec(policy));
  spec.budgets.push_back(BudgetSpec::parse(budget));
  spec.options = options;
  spec.layers = layers;
  spec.keep_sets = true;
  const SweepResult result = run_sweep(DumpLayerSource(dump), spec);

  // layer -> [kv_head] -> kept positions, for the one sweep item
  auto sets = std::make_shared<std::map<int, KeptSet>>();
  for (std::size_t i = 0; i < result.layers.size(); ++i)
    (*sets)[result.layers[i]] = result.kept.at(0).at(i);
  EngineKeptSets out;
  out.warnings = result.warnings;
  out.sets.policy = spec.policies.front().label();
  out.sets.budget = budget;
  out.sets.positions = [sets](int layer, int kv_head) {
    auto it = sets->find(layer);
    if (it == sets->end() || kv_head < 0 || kv_head >= int(it->second.size()))
      throw std::out_of_range("no kept set replayed for layer " + std::to_string(layer) +
                              ", kv_head " + std::to_string(kv_head));
    return it->second[kv_head];
  };
  return out;
}

}  // namespace kvsim
