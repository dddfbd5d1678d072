#pragma once
// Reads a slice of a kvdump dataset straight from the file when its chunks
// hold whole rows ([1, rows, d] chunks of a [heads, T, d] tensor, [rows, cols]
// chunks of a matrix; no filters): each chunk's byte range comes from HDF5's
// chunk index and goes into the caller's buffer with one pread, a single copy
// from the page cache. HDF5's own read copies twice (file -> chunk cache ->
// buffer: 7 GB/s against 14 GB/s for `cat` here), and its direct paths were
// slower still (no chunk cache: 0.65 GB/s; H5Dread_chunk likewise).
// Every chunk is checked first (present, unfiltered, exactly its raw size,
// inside the file, overlapping no other chunk read); a dataset that fails any
// check, or has another layout, is left to H5Dread, whose checks report a
// corrupt file.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kvsim {

enum class StoredFloat { f32, f16 };

// Reads [start, start + count) of dataset `ds` (the last axis whole) into
// `out` as float32. Returns false, having written nothing, when the dataset
// does not qualify. Throws InputError (naming `where`) when a qualifying
// chunk cannot be read (I/O error, file shrank).
bool read_row_chunks(hid_t ds, int fd, std::uint64_t file_size, StoredFloat stored,
                     const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, float* out,
                     const std::string& where);

}  // namespace kvsim
