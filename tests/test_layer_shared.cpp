// LayerShared holds per-layer precomputations by type: what a policy reads
// back is what it stored, and a type nobody stored reads as absent.
#include <gtest/gtest.h>

#include <vector>

#include "policies/policy.hpp"

namespace kvsim::test {
namespace {

struct GramTerms {
  std::vector<float> q;
};
struct NormCache {
  double norm = 0;
};

TEST(LayerShared, EntriesAreKeyedByTheirType) {
  LayerShared shared;
  EXPECT_EQ(shared.get<GramTerms>(), nullptr);
  shared.emplace(GramTerms{{1.f, 2.f}});
  shared.emplace(NormCache{3.5});
  ASSERT_NE(shared.get<GramTerms>(), nullptr);
  ASSERT_NE(shared.get<NormCache>(), nullptr);
  EXPECT_EQ(shared.get<GramTerms>()->q, (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(shared.get<NormCache>()->norm, 3.5);
  EXPECT_EQ(shared.get<int>(), nullptr);

  shared.emplace(NormCache{7.0}).norm += 1;  // replaces, and hands back the stored value
  EXPECT_EQ(shared.get<NormCache>()->norm, 8.0);
  EXPECT_EQ(shared.get<GramTerms>()->q.size(), 2u);
}

TEST(LayerShared, PooledSelectionFloorIsAFifthOfTheBudget) {
  EXPECT_EQ(pooled_floor_per_head(4), 0);
  EXPECT_EQ(pooled_floor_per_head(5), 1);
  EXPECT_EQ(pooled_floor_per_head(64), 12);
}

}  // namespace
}  // namespace kvsim::test
