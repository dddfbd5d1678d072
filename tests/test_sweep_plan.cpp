// The sweep's plan: one policy instance per item, and results that do not
// depend on which items share a sweep (the instances that prepare layers and
// run the model-wide pre-pass are the items' own).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sim/engine/sweep_plan.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {
constexpr int kL = 3, kH = 4, kG = 2, kD = 8, kT = 48, kC = 32, kHidden = 16;

MemoryLayerSource small_source() {
  std::vector<LayerTensors> layers;
  for (int l = 0; l < kL; ++l) layers.push_back(test::random_layer(kH, kG, kD, kT, kHidden, 100 + l));
  return MemoryLayerSource(test::tiny_attrs(kL, kH, kG, kD, kT, kC, kHidden, 1.0 / std::sqrt(kD)), layers);
}

std::vector<KeptSet> kept_of(const SweepResult& r, const std::string& label, int budget) {
  for (std::size_t i = 0; i < r.items.size(); ++i)
    if (r.items[i].policy_label == label && r.items[i].budget_tokens == budget) return r.kept[i];
  ADD_FAILURE() << "no item " << label << " at " << budget;
  return {};
}
}  // namespace

TEST(SweepPlan, OnePolicyInstancePerItemPolicyMajor) {
  const MemoryLayerSource src = small_source();
  const SweepPlan plan = plan_sweep(src, test::spec_for("knorm,h2o,laprox:window=16", "8,16", 4));
  ASSERT_EQ(static_cast<int>(plan.items.size()), 6);
  ASSERT_EQ(plan.policies.size(), 6u);
  std::set<const Policy*> distinct;
  for (const auto& p : plan.policies) distinct.insert(p.get());
  EXPECT_EQ(distinct.size(), 6u);
  for (int i = 0; i < static_cast<int>(plan.items.size()); ++i) {
    EXPECT_EQ(plan.items[i].policy, i / 2);
    EXPECT_EQ(plan.items[i].budget, i % 2);
  }
  EXPECT_EQ(&plan.policy(2), plan.policies[4].get());
  EXPECT_EQ(plan.policy(2).pooling(), Pooling::per_layer);
}

TEST(SweepPlan, KeptSetsDoNotDependOnTheOtherItemsOfTheSweep) {
  const MemoryLayerSource src = small_source();
  const SweepResult together = run_sweep(src, test::spec_for("h2o,laprox:mode=model,window=16,laprox:window=16", "8,16", 4));
  for (const std::string label : {"h2o", "laprox:mode=model,window=16", "laprox:window=16"})
    for (const char* budget : {"8", "16"}) {
      const SweepResult alone = run_sweep(src, test::spec_for(label, budget, 4));
      EXPECT_EQ(kept_of(together, label, std::stoi(budget)), alone.kept[0]) << label << " at " << budget;
    }
}

}  // namespace kvsim
