// io/hdf5_chunk_reader.cpp reads chunks with pread only after checking every
// one: a dataset it cannot vouch for must be left to H5Dread (false), a
// plain one read exactly.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "io/hdf5_chunk_reader.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

// A [2, 8, 4] float32 dataset with [1, 8, 4] chunks (one head each), the
// second chunk written by H5Dwrite_chunk with `second_chunk_bytes` bytes.
std::vector<float> write_two_chunks(const std::string& path, std::size_t second_chunk_bytes) {
  std::vector<float> values(2 * 8 * 4);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5f * static_cast<float>(i);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[3] = {2, 8, 4}, chunk[3] = {1, 8, 4};
  const hid_t space = H5Screate_simple(3, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 3, chunk);
  const hid_t ds = H5Dcreate2(file, "t", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const hsize_t first[3] = {0, 0, 0}, second[3] = {1, 0, 0};
  H5Dwrite_chunk(ds, H5P_DEFAULT, 0, first, 8 * 4 * sizeof(float), values.data());
  H5Dwrite_chunk(ds, H5P_DEFAULT, 0, second, second_chunk_bytes, values.data() + 32);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);
  return values;
}

bool read(const std::string& path, std::vector<float>& out) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t ds = H5Dopen2(file, "t", H5P_DEFAULT);
  const int fd = ::open(path.c_str(), O_RDONLY);
  out.assign(2 * 8 * 4, -1.f);
  const bool read_it = read_row_chunks(ds, fd, std::filesystem::file_size(path), StoredFloat::f32, {0, 0, 0},
                                       {2, 8, 4}, out.data(), path);
  ::close(fd);
  H5Dclose(ds);
  H5Fclose(file);
  return read_it;
}

TEST(Hdf5ChunkReader, ReadsPlainChunksExactly) {
  test::ScratchDir dir;
  const auto want = write_two_chunks(dir.file("plain.h5"), 8 * 4 * sizeof(float));
  std::vector<float> got;
  ASSERT_TRUE(read(dir.file("plain.h5"), got));
  EXPECT_EQ(got, want);
}

TEST(Hdf5ChunkReader, LeavesAChunkOfTheWrongSizeToHdf5) {
  // An unfiltered chunk stored shorter than its raw size: a corrupt index.
  // Reading its 128 bytes would take 64 that belong to something else.
  test::ScratchDir dir;
  write_two_chunks(dir.file("short.h5"), 8 * 2 * sizeof(float));
  std::vector<float> got;
  EXPECT_FALSE(read(dir.file("short.h5"), got));
  for (float v : got) ASSERT_EQ(v, -1.f) << "nothing may be written when the dataset is refused";
}

}  // namespace
}  // namespace kvsim
