#include "io/hdf5_chunk_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/errors.hpp"
#include "io/half.hpp"
#include "io/hdf5_handle.hpp"

namespace kvsim {

namespace {

struct ChunkPiece {
  std::uint64_t file_offset;  // first byte to read
  std::uint64_t bytes;
  std::size_t out_offset;     // in floats
};

void pread_fully(int fd, char* to, std::uint64_t bytes, std::uint64_t offset, const std::string& where) {
  while (bytes > 0) {
    const ssize_t got = ::pread(fd, to, bytes, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw InputError(where + ": cannot read " + std::to_string(bytes) + " bytes at offset " +
                       std::to_string(offset) + (got < 0 ? std::string(": ") + std::strerror(errno)
                                                          : std::string(" (the file ends before them)")));
    to += got;
    bytes -= static_cast<std::uint64_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

}  // namespace

bool read_row_chunks(hid_t ds, int fd, std::uint64_t file_size, StoredFloat stored,
                     const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, float* out,
                     const std::string& where) {
  if (fd < 0) return false;
  const int rank = static_cast<int>(count.size());
  if (rank != 2 && rank != 3) return false;
  H5Id dcpl(H5Dget_create_plist(ds), H5Pclose);
  if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_nfilters(dcpl.get()) != 0) return false;
  H5Id space(H5Dget_space(ds), H5Sclose);
  hsize_t dims[3], chunk[3];
  if (H5Sget_simple_extent_ndims(space.get()) != rank || H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank ||
      H5Pget_chunk(dcpl.get(), rank, chunk) != rank)
    return false;
  // Whole rows: the last axis entire in every chunk and in the selection;
  // for a 3-D tensor, one head per chunk.
  const int row_axis = rank - 2;
  const hsize_t row_len = dims[rank - 1];
  if (chunk[rank - 1] != row_len || start[rank - 1] != 0 || count[rank - 1] != row_len) return false;
  if (rank == 3 && chunk[0] != 1) return false;
  const hsize_t chunk_rows = chunk[row_axis];
  if (chunk_rows == 0 || row_len == 0) return false;
  const std::uint64_t elem = stored == StoredFloat::f32 ? 4 : 2;
  const std::uint64_t row_bytes = row_len * elem, chunk_bytes = chunk_rows * row_bytes;

  const hsize_t outer_begin = rank == 3 ? start[0] : 0, outer_count = rank == 3 ? count[0] : 1;
  const hsize_t row_begin = start[row_axis], row_end = start[row_axis] + count[row_axis];
  std::vector<ChunkPiece> pieces;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;  // whole chunks, for the overlap check
  for (hsize_t o = 0; o < outer_count; ++o) {
    for (hsize_t c0 = row_begin / chunk_rows * chunk_rows; c0 < row_end; c0 += chunk_rows) {
      hsize_t coord[3] = {0, 0, 0};
      if (rank == 3) coord[0] = outer_begin + o;
      coord[row_axis] = c0;
      unsigned filter_mask = 0;
      haddr_t address = HADDR_UNDEF;
      hsize_t size = 0;
      if (H5Dget_chunk_info_by_coord(ds, coord, &filter_mask, &address, &size) < 0 || address == HADDR_UNDEF ||
          filter_mask != 0 || size != chunk_bytes || address > file_size || size > file_size - address)
        return false;
      const hsize_t first = std::max(row_begin, c0), last = std::min(row_end, c0 + chunk_rows);
      pieces.push_back({address + (first - c0) * row_bytes, (last - first) * row_bytes,
                        static_cast<std::size_t>((o * count[row_axis] + (first - row_begin)) * row_len)});
      extents.emplace_back(address, size);
    }
  }
  std::sort(extents.begin(), extents.end());
  for (std::size_t i = 1; i < extents.size(); ++i)
    if (extents[i].first < extents[i - 1].first + extents[i - 1].second) return false;

  // The pieces are independent byte ranges of our own file descriptor: read
  // (and widened) on every thread. No HDF5 call happens in here.
  std::string failure;
  const long long n_pieces = static_cast<long long>(pieces.size());
#pragma omp parallel for schedule(dynamic)
  for (long long i = 0; i < n_pieces; ++i) {
    const ChunkPiece& p = pieces[static_cast<std::size_t>(i)];
    try {
      if (stored == StoredFloat::f32) {
        pread_fully(fd, reinterpret_cast<char*>(out + p.out_offset), p.bytes, p.file_offset, where);
        continue;
      }
      // f16: through a chunk-sized buffer that stays in cache, then widened.
      thread_local std::vector<std::uint16_t> halves;
      if (halves.size() < chunk_bytes / 2) halves.resize(static_cast<std::size_t>(chunk_bytes / 2));
      pread_fully(fd, reinterpret_cast<char*>(halves.data()), p.bytes, p.file_offset, where);
      widen_halves(halves.data(), out + p.out_offset, static_cast<std::size_t>(p.bytes / 2));
    } catch (const InputError& e) {
#pragma omp critical(kvsim_chunk_read_failure)
      if (failure.empty()) failure = e.what();
    }
  }
  if (!failure.empty()) throw InputError(failure);
  return true;
}

}  // namespace kvsim
