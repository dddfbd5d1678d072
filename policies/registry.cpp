// The policy registry: ONE line per policy. A policy lives in policies/<name>.cpp
// and exposes `PolicyInfo <name>_policy_info()`.
#include "policies/policy.hpp"

#define KVSIM_POLICIES(X) \
  X(full)                 \
  X(random)               \
  X(streamingllm)         \
  X(knorm)                \
  X(keydiff)              \
  X(snapkv)               \
  X(tova)                 \
  X(h2o)                  \
  X(laprox)               \
  X(lagkv)                \
  X(cur)                  \
  X(expected_attention)   \
  X(adakv)                \
  X(pyramidkv)            \
  X(per_layer)            \
  X(criticalkv)           \
  X(chunkkv)              \
  X(simlayerkv)           \
  X(finch)                \
  X(oracle)

namespace kvsim {

#define KVSIM_DECLARE(name) PolicyInfo name##_policy_info();
KVSIM_POLICIES(KVSIM_DECLARE)
#undef KVSIM_DECLARE

const std::vector<PolicyInfo>& policy_registry() {
#define KVSIM_ENTRY(name) name##_policy_info(),
  static const std::vector<PolicyInfo> registry = {KVSIM_POLICIES(KVSIM_ENTRY)};
#undef KVSIM_ENTRY
  return registry;
}

}  // namespace kvsim
