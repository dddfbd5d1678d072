#pragma once
// One fixed colour per policy, the same in every figure and notebook, so that
// a reader who learnt "keydiff is blue" in one figure can trust it in the next
// whatever the subset or order of policies drawn.
#include <string>

namespace kvsim::plot {

// "#rrggbb". Known policies (full, random, streamingllm, knorm, keydiff,
// snapkv, tova, h2o, laprox, oracle) have fixed colours from a colour-blind-
// safe palette; the oracle is black. A label with parameters
// ("snapkv:window=32") gets a lighter or darker shade of its base policy's
// colour, chosen by a hash of the whole label; an unknown name a colour from a
// hash of the name. Deterministic across runs and platforms.
std::string policy_color(const std::string& label);

}  // namespace kvsim::plot
