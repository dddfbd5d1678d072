#pragma once
// Seeded, order-independent pseudo-random numbers (the `random` policy).
#include <cstdint>

namespace kvsim {

// Deterministic uniform double in [0,1) from (seed, a, b, c) (splitmix64).
double hash_uniform(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c);

}  // namespace kvsim
