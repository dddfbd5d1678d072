#pragma once
// The replay protocol's options (DESIGN §2), the same for every policy.
#include <cstdint>

#include "policies/kernels/gqa.hpp"

namespace kvsim {

struct ReplayOptions {
  int block = 128;   // B; 0 = one-shot
  int sinks = 0;     // --sinks S: first S tokens protected
  int recent = 0;    // --recent R: last R processed tokens protected
  int window = 128;  // --window W: C = T - W when the dump has no context_len
  std::uint64_t seed = 0;
  GqaReduce gqa = GqaReduce::mean;
};

}  // namespace kvsim
