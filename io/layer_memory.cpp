#include "io/layer_memory.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>

namespace kvsim {

void keep_freed_layers_in_heap() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // One arena for every thread: a worker thread's buffers (OpenMP threads
  // allocate their own scratch) come from the same kept heap instead of
  // per-thread arenas that are grown, shrunk and faulted in again.
  mallopt(M_ARENA_MAX, 1);
}

void prefer_huge_pages(void* data, std::size_t bytes) {
  constexpr std::uintptr_t kHuge = std::uintptr_t(1) << 21;
  if (bytes < 2 * kHuge) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // a hint: errors ignored
}

}  // namespace kvsim
