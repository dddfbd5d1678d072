// kvdump v1 reader/writer: round trips, partial reads, h5py interop, and a
// clear error for every class of invalid file.
#include <hdf5.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "io/errors.hpp"
#include "io/half.hpp"
#include "io/kvdump.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

using test::ScratchDir;

DumpAttrs small_attrs() {
  DumpAttrs a;
  a.model = "roundtrip-model";
  a.source = "synthetic";
  a.n_layers = 2;
  a.n_heads = 4;
  a.n_kv_heads = 2;
  a.head_dim = 8;
  a.hidden_size = 24;
  a.n_tokens = 40;
  a.context_len = 30;
  return a;
}

// x[h,t,i] = layer + 10*name_index + h + t/64 + i/4096 (see fixtures/check_kvsim_dump.py).
Tensor3 formula_tensor(int layer, int name_index, int heads, int T, int d) {
  Tensor3 x = Tensor3::from_shape({std::size_t(heads), std::size_t(T), std::size_t(d)});
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < d; ++i)
        x(h, t, i) = static_cast<float>(layer + 10 * name_index + h + t / 64.0 + i / 4096.0);
  return x;
}

LayerTensors formula_layer(const DumpAttrs& a, int layer) {
  LayerTensors t;
  t.q = formula_tensor(layer, 0, a.n_heads, a.n_tokens, a.head_dim);
  t.k = formula_tensor(layer, 1, a.n_kv_heads, a.n_tokens, a.head_dim);
  t.v = formula_tensor(layer, 2, a.n_kv_heads, a.n_tokens, a.head_dim);
  Matrix o = Matrix::from_shape({std::size_t(a.hidden_size), std::size_t(a.n_heads * a.head_dim)});
  for (std::size_t r = 0; r < o.shape()[0]; ++r)
    for (std::size_t c = 0; c < o.shape()[1]; ++c) o(r, c) = static_cast<float>(layer + (r + c) / 1024.0);
  t.o_proj = o;
  return t;
}

void write_formula_dump(const std::string& path, const DumpAttrs& a, StorageType storage) {
  DumpWriter w(path, a, storage);
  std::vector<int> ids(static_cast<std::size_t>(a.n_tokens));
  for (int i = 0; i < a.n_tokens; ++i) ids[i] = i;
  w.write_tokens(ids);
  for (int l = 0; l < a.n_layers; ++l) w.write_layer(l, formula_layer(a, l));
  w.finish();
}

TEST(KvDump, RoundTripFloat32IsBitExact) {
  ScratchDir dir;
  const DumpAttrs a = small_attrs();
  write_formula_dump(dir.file("d.h5"), a, StorageType::f32);
  DumpReader r(dir.file("d.h5"));
  EXPECT_EQ(r.attrs().model, "roundtrip-model");
  EXPECT_EQ(r.attrs().n_tokens, 40);
  EXPECT_EQ(*r.attrs().context_len, 30);
  EXPECT_FALSE(r.attrs().attn_scale.has_value());
  EXPECT_DOUBLE_EQ(r.attrs().scale(), 1.0 / std::sqrt(8.0));
  EXPECT_TRUE(r.has_o_proj());
  EXPECT_EQ(r.dtype_name(0, "q"), "float32");
  for (int l = 0; l < a.n_layers; ++l) {
    const LayerTensors want = formula_layer(a, l);
    const LayerTensors got = r.read_layer(l);
    EXPECT_EQ(got.q, want.q);
    EXPECT_EQ(got.k, want.k);
    EXPECT_EQ(got.v, want.v);
    ASSERT_TRUE(got.o_proj.has_value());
    EXPECT_EQ(*got.o_proj, *want.o_proj);
  }
  EXPECT_EQ(r.tokens()[39], 39);
}

TEST(KvDump, RoundTripFloat16WithinHalfPrecisionRounding) {
  ScratchDir dir;
  const DumpAttrs a = small_attrs();
  write_formula_dump(dir.file("d16.h5"), a, StorageType::f16);
  DumpReader r(dir.file("d16.h5"));
  EXPECT_EQ(r.dtype_name(1, "k"), "float16");
  const LayerTensors want = formula_layer(a, 1);
  const LayerTensors got = r.read_layer(1);
  double worst = 0;
  bool some_inexact = false;
  for (std::size_t i = 0; i < want.q.size(); ++i) {
    const double w = want.q.data()[i], g = got.q.data()[i];
    worst = std::max(worst, std::abs(w - g) / std::abs(w));
    some_inexact |= (w != g);
  }
  EXPECT_LE(worst, std::ldexp(1.0, -11) * 1.0001);  // round-to-nearest half: <= 2^-11 relative
  EXPECT_TRUE(some_inexact) << "float16 storage should actually round";
}

TEST(KvDump, PartialReadsEqualSlicesOfFullRead) {
  ScratchDir dir;
  const DumpAttrs a = small_attrs();
  write_formula_dump(dir.file("d.h5"), a, StorageType::f32);
  DumpReader r(dir.file("d.h5"));
  const LayerTensors full = r.read_layer(1);
  const Tensor3 head = r.read_slice(1, "q", 2, 3, 0, a.n_tokens);
  const Tensor3 range = r.read_slice(1, "k", 0, 2, 7, 33);
  for (int t = 0; t < a.n_tokens; ++t)
    for (int i = 0; i < a.head_dim; ++i) ASSERT_EQ(head(0, t, i), full.q(2, t, i));
  ASSERT_EQ(range.shape()[1], 26u);
  for (int g = 0; g < 2; ++g)
    for (int t = 7; t < 33; ++t)
      for (int i = 0; i < a.head_dim; ++i) ASSERT_EQ(range(g, t - 7, i), full.k(g, t, i));
  EXPECT_THROW(r.read_slice(1, "q", 0, 5, 0, 4), InputError);
  EXPECT_THROW(r.read_layer(2), InputError);
}

TEST(KvDump, ChunkReadsMatchTheWrittenValuesAcrossChunkEdges) {
  // 2500 tokens: chunks of 1024 tokens, the last one partly filled, so
  // io/hdf5_chunk_reader.cpp's pread path crosses chunk edges and stops inside
  // the last chunk; every value must be the one written (f16: its rounding).
  DumpAttrs a = small_attrs();
  a.n_tokens = 2500;
  a.context_len = 2400;
  for (StorageType storage : {StorageType::f32, StorageType::f16}) {
    ScratchDir dir;
    write_formula_dump(dir.file("d.h5"), a, storage);
    DumpReader r(dir.file("d.h5"));
    auto stored = [&](float x) { return storage == StorageType::f32 ? x : half_to_float(float_to_half(x)); };
    const LayerTensors want = formula_layer(a, 1);
    const LayerTensors got = r.read_layer(1);
    for (std::size_t i = 0; i < want.q.size(); ++i) ASSERT_EQ(got.q.data()[i], stored(want.q.data()[i])) << i;
    for (std::size_t i = 0; i < want.v.size(); ++i) ASSERT_EQ(got.v.data()[i], stored(want.v.data()[i])) << i;
    for (std::size_t i = 0; i < want.o_proj->size(); ++i)
      ASSERT_EQ(got.o_proj->data()[i], stored(want.o_proj->data()[i])) << i;
    for (const auto& [t0, t1] : {std::pair{1000, 2100}, std::pair{2047, 2500}, std::pair{3, 5}}) {
      const Tensor3 slice = r.read_slice(1, "q", 1, 3, t0, t1);
      for (int h = 1; h < 3; ++h)
        for (int t = t0; t < t1; ++t)
          for (int i = 0; i < a.head_dim; ++i) ASSERT_EQ(slice(h - 1, t - t0, i), stored(want.q(h, t, i))) << t;
    }
    EXPECT_EQ(r.stored_bytes(1, "q"), 4u * 2500 * 8 * (storage == StorageType::f32 ? 4 : 2));
  }
}

TEST(KvDump, UnfinishedWriterLeavesNoFile) {
  ScratchDir dir;
  const DumpAttrs a = small_attrs();
  {
    DumpWriter w(dir.file("partial.h5"), a);
    w.write_layer(0, formula_layer(a, 0));
    EXPECT_THROW(w.finish(), InputError);  // tokens and layer 1 missing
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(KvDump, WriterRejectsTensorsOfTheWrongShape) {
  ScratchDir dir;
  const DumpAttrs a = small_attrs();
  DumpWriter w(dir.file("x.h5"), a);
  LayerTensors t = formula_layer(a, 0);
  t.k = formula_tensor(0, 1, 3, a.n_tokens, a.head_dim);
  EXPECT_THROW(w.write_layer(0, t), InputError);
}

std::string python_or_skip_reason() { return KVSIM_H5PY_PYTHON; }

TEST(KvDump, ReadsFilesWrittenByH5py) {
  const std::string python = python_or_skip_reason();
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  ScratchDir dir;
  for (const std::string dtype : {"float32", "float16"}) {
    const std::string path = dir.file("h5py-" + dtype + ".h5");
    auto made = test::run_shell(python + " " + KVSIM_SOURCE_DIR + "/tests/fixtures/make_h5py_dump.py " +
                                path + " " + dtype);
    ASSERT_EQ(made.exit_code, 0) << made.err;
    DumpReader r(path);
    const DumpAttrs& a = r.attrs();
    EXPECT_EQ(a.model, "h5py-fixture");
    EXPECT_EQ(a.n_heads, 4);
    EXPECT_EQ(*a.context_len, 9);
    EXPECT_DOUBLE_EQ(a.rope_theta, 500000.0);
    EXPECT_DOUBLE_EQ(a.scale(), 0.25);
    EXPECT_EQ(r.tokens()[3], 103);
    EXPECT_EQ(r.token_text()[5], "tok5");
    const double tol = dtype == "float16" ? 2e-3 : 1e-6;
    const LayerTensors t = r.read_layer(1);
    for (int h = 0; h < 4; ++h)
      for (int tt = 0; tt < 12; ++tt)
        for (int i = 0; i < 8; ++i) {
          const double q = 1 + h + tt / 100.0 + i / 10000.0;
          ASSERT_NEAR(t.q(h, tt, i), q, tol * q) << dtype;
          if (h < 2) {
            const double k = -(h + tt / 100.0 + i / 10000.0) - 1;
            ASSERT_NEAR(t.k(h, tt, i), k, tol * std::abs(k)) << dtype;
            const double v = 0.5 * h - tt / 1000.0 + i / 100.0 + 1;
            ASSERT_NEAR(t.v(h, tt, i), v, tol * std::abs(v) + 1e-6) << dtype;
          }
        }
    ASSERT_TRUE(t.o_proj.has_value());
    EXPECT_NEAR((*t.o_proj)(5, 3), 1 + 2 / 64.0, tol * 2);
  }
}

TEST(KvDump, FilesWrittenByKvsimReadInH5py) {
  const std::string python = python_or_skip_reason();
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  ScratchDir dir;
  for (StorageType s : {StorageType::f32, StorageType::f16}) {
    const std::string path = dir.file(s == StorageType::f32 ? "k32.h5" : "k16.h5");
    write_formula_dump(path, small_attrs(), s);
    auto checked = test::run_shell(python + " " + KVSIM_SOURCE_DIR + "/tests/fixtures/check_kvsim_dump.py " + path);
    EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  }
}

// ------------------------------------------------------------ invalid files

// Writes a valid dump, then damages it with the HDF5 C API.
std::string damaged_dump(const ScratchDir& dir, const std::function<void(hid_t)>& damage,
                         DumpAttrs attrs = small_attrs()) {
  const std::string path = dir.file("damaged.h5");
  write_formula_dump(path, attrs, StorageType::f32);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  damage(f);
  H5Fclose(f);
  return path;
}

void set_int_attr(hid_t f, const char* name, long long value) {
  hid_t attr = H5Aopen(f, name, H5P_DEFAULT);
  H5Awrite(attr, H5T_NATIVE_LLONG, &value);
  H5Aclose(attr);
}

void replace_dataset(hid_t f, const char* path, std::vector<hsize_t> dims, hid_t type = H5T_IEEE_F32LE) {
  H5Ldelete(f, path, H5P_DEFAULT);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(f, path, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(ds);
  H5Sclose(space);
}

void expect_input_error(const std::string& path, const std::vector<std::string>& words) {
  try {
    DumpReader r(path);
    FAIL() << "expected an InputError mentioning " << words.front();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "message: " << msg;
  }
}

TEST(KvDumpInvalid, NotAnHdf5File) {
  ScratchDir dir;
  std::ofstream(dir.file("text.h5")) << "this is not HDF5\n";
  expect_input_error(dir.file("text.h5"), {"text.h5", "not an HDF5 file"});
  expect_input_error(dir.file("absent.h5"), {"absent.h5", "no such file"});
}

TEST(KvDumpInvalid, TruncatedFile) {
  ScratchDir dir;
  const std::string path = dir.file("full.h5");
  write_formula_dump(path, small_attrs(), StorageType::f32);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::copy_file(path, dir.file("cut.h5"));
  std::filesystem::resize_file(dir.file("cut.h5"), size / 2);
  try {
    DumpReader r(dir.file("cut.h5"));
    for (int l = 0; l < 2; ++l) r.read_layer(l);
    FAIL() << "a truncated dump must not read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.h5"), std::string::npos) << e.what();
  }
}

TEST(KvDumpInvalid, MissingAttribute) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { H5Adelete(f, "n_kv_heads"); }),
                     {"missing root attribute 'n_kv_heads'"});
}

TEST(KvDumpInvalid, WrongVersion) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { set_int_attr(f, "kvdump_version", 2); }),
                     {"kvdump_version", "2"});
}

TEST(KvDumpInvalid, MissingDataset) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { H5Ldelete(f, "/layers/1/v", H5P_DEFAULT); }),
                     {"missing dataset /layers/1/v"});
}

TEST(KvDumpInvalid, WrongRank) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { replace_dataset(f, "/layers/0/k", {2, 40}); }),
                     {"/layers/0/k", "rank 2", "expected rank 3"});
}

TEST(KvDumpInvalid, ShapeDisagreesWithAttributes) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { set_int_attr(f, "n_tokens", 41); }),
                     {"/tokens", "expected [41]"});
  expect_input_error(damaged_dump(dir, [](hid_t f) { replace_dataset(f, "/layers/1/q", {4, 40, 9}); }),
                     {"/layers/1/q", "[4, 40, 9]", "expected [4, 40, 8]"});
  expect_input_error(damaged_dump(dir, [](hid_t f) { replace_dataset(f, "/layers/0/o_proj", {24, 31}); }),
                     {"/layers/0/o_proj", "expected [24, 32]"});
}

TEST(KvDumpInvalid, WrongElementType) {
  ScratchDir dir;
  expect_input_error(
      damaged_dump(dir, [](hid_t f) { replace_dataset(f, "/layers/0/v", {2, 40, 8}, H5T_STD_I32LE); }),
      {"/layers/0/v", "int32", "expected float32 or float16"});
}

TEST(KvDumpInvalid, HeadsNotDivisibleByKvHeads) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { set_int_attr(f, "n_kv_heads", 3); }),
                     {"n_heads (4) is not divisible by n_kv_heads (3)"});
}

TEST(KvDumpInvalid, ContextLenOutsideTokens) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { set_int_attr(f, "context_len", 40); }),
                     {"context_len (40)", "n_tokens=40"});
  expect_input_error(damaged_dump(dir, [](hid_t f) { set_int_attr(f, "context_len", 0); }),
                     {"context_len (0)"});
}

TEST(KvDumpInvalid, ExtraLayerGroup) {
  ScratchDir dir;
  expect_input_error(damaged_dump(dir, [](hid_t f) { set_int_attr(f, "n_layers", 1); }),
                     {"/layers/1", "n_layers = 1"});
}

}  // namespace
}  // namespace kvsim

namespace kvsim {
namespace {

TEST(KvDumpInvalid, LibraryHangBecomesAClearError) {
  // A fuzzer-found file on which libhdf5 1.10 loops forever while reading a
  // string attribute; the watchdog turns that into exit status 1.
  const std::string fixture = std::string(KVSIM_SOURCE_DIR) + "/tests/fixtures/hdf5-hang.h5";
  const auto start = std::chrono::steady_clock::now();
  auto r = test::run_shell("KVSIM_IO_TIMEOUT=1 " + std::string(KVSIM_BINARY) + " inspect " + fixture);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hdf5-hang.h5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("corrupt file?"), std::string::npos) << r.err;
  EXPECT_LT(seconds, 30);
}

}  // namespace
}  // namespace kvsim

namespace kvsim {
namespace {

TEST(KvDumpInvalid, DatasetNeverWritten) {
  // A dataset created but never filled reads back as zeros in HDF5; the reader
  // must refuse it rather than replay zeros.
  test::ScratchDir dir;
  const std::string path = dir.file("hollow.h5");
  {
    DumpWriter w(path, small_attrs());
    std::vector<int> ids(40, 5);
    w.write_tokens(ids);
    for (int l = 0; l < 2; ++l) w.write_layer(l, formula_layer(small_attrs(), l));
    w.finish();
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete(f, "/layers/1/k", H5P_DEFAULT);
  hsize_t dims[3] = {2, 40, 8}, chunk[3] = {1, 40, 8};
  hid_t space = H5Screate_simple(3, dims, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 3, chunk);
  hid_t ds = H5Dcreate2(f, "/layers/1/k", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  std::vector<float> one_head(40 * 8, 1.0f);  // write head 0 only: head 1's chunk stays missing
  hsize_t start[3] = {0, 0, 0}, count[3] = {1, 40, 8};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(3, count, nullptr);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, one_head.data());
  H5Sclose(mem);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(f);
  expect_input_error(path, {"/layers/1/k", "never completely written", "missing chunks"});
}

}  // namespace
}  // namespace kvsim

namespace kvsim {
namespace {

TEST(KvDumpInvalid, HugeLayerCountEndsAtTheFirstMissingLayer) {
  // fuzz_kvdump: n_layers = 2^31 - 1 sized the per-layer table up front (a
  // 100 GB allocation, "out of memory" without the file's name).
  const std::string python = python_or_skip_reason();
  if (python.empty()) GTEST_SKIP() << "python3 with h5py not installed (apt-get install python3-h5py)";
  test::ScratchDir dir;
  const std::string path = dir.file("layers.h5");
  ASSERT_EQ(test::run_kvsim("synth --out " + path + " --layers 2 --heads 4 --kv-heads 2 --head-dim 16 --tokens 64")
                .exit_code, 0);
  const auto edited = test::run_shell(python + " -c \"import h5py, numpy; f = h5py.File('" + path +
                                      "', 'r+'); f.attrs['n_layers'] = numpy.int64(2147483647); f.close()\"");
  ASSERT_EQ(edited.exit_code, 0) << edited.err;
  const auto r = test::run_kvsim("inspect " + path);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(path + ": missing dataset /layers/2/"), std::string::npos) << r.err;
}

TEST(KvDumpInvalid, FuzzerFindingsEndInOneClearError) {
  // Files on which tests/fuzz/fuzz_kvdump made libhdf5 crash, hang or
  // over-allocate: each must end with exit 1 and a line naming the file.
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under ASan, libhdf5's own memory errors on these files abort first";
#endif
  const std::filesystem::path dir = std::string(KVSIM_SOURCE_DIR) + "/tests/fixtures/fuzz-findings";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string path = entry.path().string();
    auto r = test::run_shell("KVSIM_IO_TIMEOUT=2 " + std::string(KVSIM_BINARY) + " inspect --stats " + path);
    EXPECT_EQ(r.exit_code, 1) << path << "\n" << r.err;
    EXPECT_NE(r.err.find(entry.path().filename().string()), std::string::npos) << r.err;
    // One line of kvsim's; before it glibc may print its own when it aborts
    // on the heap libhdf5 corrupted ("free(): invalid pointer"): not ours to silence.
    std::string ours = r.err;
    while (ours.rfind("free(): ", 0) == 0 || ours.rfind("malloc(): ", 0) == 0 ||
           ours.rfind("double free", 0) == 0 || ours.rfind("corrupted ", 0) == 0 ||
           ours.rfind("munmap_chunk(): ", 0) == 0 || ours.rfind("realloc(): ", 0) == 0)
      ours = ours.substr(ours.find('\n') + 1);
    EXPECT_EQ(std::count(ours.begin(), ours.end(), '\n'), 1) << "one line expected: " << r.err;
    EXPECT_EQ(ours.rfind("kvsim", 0), 0u) << r.err;
    ++files;
  }
  EXPECT_GE(files, 8);
}

}  // namespace
}  // namespace kvsim
