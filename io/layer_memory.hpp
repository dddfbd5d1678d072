#pragma once
// Memory for layer-sized buffers (a dump layer's tensors: hundreds of MB,
// freed and allocated again for the next layer). On this project's VM a
// first-touch 4 KiB page fault costs about 10 us, which made a dump's first
// layer read at 0.3 GB/s and every later one too when each came fresh from mmap.
#include <cstddef>

namespace kvsim {

// From here on, big allocations come from the heap and freed memory stays
// there (no mmap per buffer, no trimming), so the next layer reuses pages that
// are already mapped: the peak is one layer either way. Called by kvsim's
// main and by the benchmarks, before any layer is read.
void keep_freed_layers_in_heap();

// Asks for 2 MiB pages on the 2 MiB-aligned interior of [data, data + bytes),
// a buffer about to be filled for the first time: ~32 faults per 64 MiB
// instead of ~16 000. Only a hint (nothing changes without transparent huge
// pages); does nothing for buffers under 4 MiB.
void prefer_huge_pages(void* data, std::size_t bytes);

}  // namespace kvsim
