#pragma once
// The one parallel loop of the engine and the policies (OpenMP).
#include <functional>

namespace kvsim {

// Runs fn(i) for i in [0, n) in parallel (OpenMP, dynamic) unless already inside
// an active parallel region; rethrows the first exception on the calling thread.
void parallel_for(int n, const std::function<void(int)>& fn);

}  // namespace kvsim
