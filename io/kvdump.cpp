#include "io/kvdump.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/hdf5_attributes.hpp"
#include "io/errors.hpp"
#include "io/half.hpp"
#include "io/hdf5_chunk_reader.hpp"
#include "io/hdf5_handle.hpp"
#include "io/layer_memory.hpp"
#include "io/regular_file.hpp"
#include "io/watchdog.hpp"

namespace kvsim {

std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

constexpr int kChunkTokens = 1024;

void silence_hdf5_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

// Why libhdf5's last write failed, from its error stack: the sec2 driver
// records the OS error ("... error message = 'No space left on device'").
std::string write_failure_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        auto& out = *static_cast<std::string*>(data);
        const std::string desc = error->desc ? error->desc : "";
        const std::string marker = "error message = '";
        const auto at = desc.find(marker);
        if (out.empty() && at != std::string::npos) {
          const auto begin = at + marker.size();
          out = desc.substr(begin, desc.find('\'', begin) - begin);
        }
        return 0;
      },
      &reason);
  return reason.empty() ? "write failed (disk full?)" : reason;
}

std::string shape_string(const std::vector<std::size_t>& dims) {
  std::ostringstream s;
  s << "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s << (i ? ", " : "") << dims[i];
  s << "]";
  return s.str();
}

// IEEE half precision laid out as h5py's float16 (sign 15, exponent 10..14, mantissa 0..9).
H5Id make_half_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  H5Tset_precision(t, 16);
  return H5Id(t, H5Tclose);
}

bool link_exists(hid_t file, const std::string& path) {
  // Walk the path component by component: H5Lexists fails on missing parents.
  std::string partial;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    partial += "/" + part;
    if (H5Lexists(file, partial.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

// Unwritten chunks read back as the fill value (zeros): a silently wrong
// tensor, so a dump whose writer died half-way must be refused. Chunks are
// counted, not bytes: filters (gzip, shuffle, fletcher32, scale-offset) change
// the bytes a chunk occupies, and edge chunks of a chunked dataset are stored
// whole, so H5Dget_space_status (which compares byte totals) reports such
// valid files as partly allocated. Returns why the data is incomplete, or "".
std::string unwritten_data(hid_t ds, hid_t space, const std::vector<hsize_t>& dims) {
  if (H5Sget_simple_extent_npoints(space) <= 0) return "";
  H5Id dcpl(H5Dget_create_plist(ds), H5Pclose);
  const H5D_layout_t layout = dcpl.valid() ? H5Pget_layout(dcpl.get()) : H5D_LAYOUT_ERROR;
  if (layout == H5D_COMPACT) return "";  // stored inside the object header, always present
  if (layout == H5D_CHUNKED) {
    std::vector<hsize_t> chunk(dims.size());
    if (H5Pget_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) != static_cast<int>(chunk.size()))
      return "unreadable chunk layout";
    hsize_t expected = 1;
    for (std::size_t i = 0; i < dims.size(); ++i) expected *= (dims[i] + chunk[i] - 1) / chunk[i];
    hsize_t stored = 0;
    if (H5Dget_num_chunks(ds, space, &stored) < 0) return "unreadable chunk index";
    if (stored == 0) return "no data";
    return stored < expected ? "missing chunks" : "";
  }
  H5D_space_status_t status;
  if (H5Dget_space_status(ds, &status) < 0) return "unreadable storage status";
  return status == H5D_SPACE_STATUS_ALLOCATED ? "" : "no data";
}

// Storage this libhdf5 cannot read back faithfully: a filter it was built
// without (h5py plugins such as lzf or blosc) fails every read, and a virtual
// dataset maps data from other files, whose absence reads as fill values.
std::string unsupported_storage(hid_t ds) {
  H5Id dcpl(H5Dget_create_plist(ds), H5Pclose);
  if (!dcpl.valid()) return "has unreadable creation properties (corrupt file?)";
  if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL)
    return "is a virtual dataset (its data lives in other files); copy it into a regular dataset";
  const int filters = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t n_values = 0;
    char name[64] = "";
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &n_values, nullptr,
                                           sizeof name, name, &config);
    if (id < 0) return "has an unreadable filter pipeline (corrupt file?)";
    if (H5Zfilter_avail(id) <= 0)
      return "is compressed with HDF5 filter " + std::to_string(id) + (name[0] ? " (" + std::string(name) + ")" : "") +
             ", which this libhdf5 does not provide; rewrite it with gzip or without compression";
  }
  return "";
}

struct DatasetInfo {
  bool exists = false;
  std::vector<std::size_t> dims;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::size_t type_size = 0;
  std::string unwritten;  // why the data is incomplete; empty when fully written
};

DatasetInfo dataset_info(hid_t file, const std::string& path, const std::string& file_name) {
  DatasetInfo info;
  if (!link_exists(file, path)) return info;
  H5Id ds(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw InputError(file_name + ": " + path + " is not a readable dataset");
  H5Id space(H5Dget_space(ds.get()), H5Sclose);
  H5Id type(H5Dget_type(ds.get()), H5Tclose);
  if (!space.valid() || !type.valid())
    throw InputError(file_name + ": " + path + ": cannot read dataspace/type (corrupt file?)");
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw InputError(file_name + ": " + path + ": cannot read rank (corrupt file?)");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  info.exists = true;
  info.dims.assign(dims.begin(), dims.end());
  if (const std::string why = unsupported_storage(ds.get()); !why.empty())
    throw InputError(file_name + ": " + path + " " + why);
  info.unwritten = unwritten_data(ds.get(), space.get(), dims);
  info.type_class = H5Tget_class(type.get());
  info.type_size = H5Tget_size(type.get());
  return info;
}

std::string float_dtype_name(const DatasetInfo& info) {
  if (info.type_class == H5T_FLOAT && info.type_size == 4) return "float32";
  if (info.type_class == H5T_FLOAT && info.type_size == 2) return "float16";
  if (info.type_class == H5T_FLOAT && info.type_size == 8) return "float64";
  if (info.type_class == H5T_INTEGER) return "int" + std::to_string(info.type_size * 8);
  return "unsupported";
}

int checked_int(long long value, const char* name, const std::string& file_name) {
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
    throw InputError(file_name + ": attribute '" + name + "' out of range");
  return static_cast<int>(value);
}

}  // namespace

std::string layer_path(int layer, const std::string& name) {
  return "/layers/" + std::to_string(layer) + "/" + name;
}

double DumpAttrs::scale() const {
  return attn_scale ? *attn_scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
}

void DumpAttrs::validate(const std::string& where) const {
  auto fail = [&](const std::string& what) { throw InputError(where + ": " + what); };
  if (version != 1) fail("kvdump_version is " + std::to_string(version) + ", expected 1");
  auto positive = [&](int value, const char* name) {
    if (value <= 0) fail(std::string("attribute '") + name + "' must be > 0, got " + std::to_string(value));
  };
  positive(n_layers, "n_layers");
  positive(n_heads, "n_heads");
  positive(n_kv_heads, "n_kv_heads");
  positive(head_dim, "head_dim");
  positive(hidden_size, "hidden_size");
  positive(n_tokens, "n_tokens");
  if (n_heads % n_kv_heads != 0)
    fail("n_heads (" + std::to_string(n_heads) + ") is not divisible by n_kv_heads (" +
         std::to_string(n_kv_heads) + ")");
  if (context_len && (*context_len <= 0 || *context_len >= n_tokens))
    fail("context_len (" + std::to_string(*context_len) + ") must be in (0, n_tokens=" +
         std::to_string(n_tokens) + ")");
  if (question_len && !context_len) fail("attribute 'question_len' needs 'context_len' (the question follows the context)");
  if (question_len && context_len && (*question_len <= 0 || *question_len > n_tokens - *context_len))
    fail("question_len (" + std::to_string(*question_len) + ") must be in (0, n_tokens - context_len = " +
         std::to_string(n_tokens - *context_len) + "]");
  if (attn_scale && !(std::isfinite(*attn_scale) && *attn_scale > 0))
    fail("attribute 'attn_scale' must be a positive finite number");
  if (!(std::isfinite(rope_theta) && rope_theta > 0)) fail("attribute 'rope_theta' must be positive");
}

// ---------------------------------------------------------------- reader

struct DumpReader::Impl {
  std::string path;
  H5Id file;
  DumpAttrs attrs;
  std::uintmax_t size = 0;
  int fd = -1;  // the same file, for read_row_chunks' preads
  std::vector<std::map<std::string, DatasetInfo>> layers;  // validated datasets per layer

  // Closing a corrupt file can crash libhdf5 too (it frees what it misread),
  // also when the constructor's validation has just thrown: guarded like a read.
  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (!file.valid()) return;
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    const WatchdogGuard watchdog(60, path + ": closing the HDF5 file");
    file.close();
  }

  void validate_layers();
  const DatasetInfo& info(int layer, const std::string& name) const;
  void read_floats(const std::string& dataset, const std::vector<hsize_t>& start,
                   const std::vector<hsize_t>& count, float* out) const;
};

DumpReader::DumpReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  silence_hdf5_errors();
  // Before the watchdog: opening a FIFO would block until its deadline.
  require_regular_file(path);
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const WatchdogGuard watchdog(60, path + ": reading the HDF5 metadata");
  impl_->path = path;
  std::error_code ec;
  impl_->size = std::filesystem::file_size(path, ec);
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path + ": not an HDF5 file");
  impl_->file = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!impl_->file.valid())
    throw InputError(path + ": cannot open HDF5 file (truncated or corrupt?)");
  impl_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // -1: every read goes through H5Dread
  hid_t f = impl_->file.get();
  DumpAttrs& a = impl_->attrs;
  a.version = checked_int(read_int_attribute(f, "kvdump_version", path), "kvdump_version", path);
  if (a.version != 1)
    throw InputError(path + ": kvdump_version is " + std::to_string(a.version) + ", this kvsim reads version 1");
  a.model = read_string_attribute(f, "model", path);
  a.source = read_string_attribute(f, "source", path);
  a.n_layers = checked_int(read_int_attribute(f, "n_layers", path), "n_layers", path);
  a.n_heads = checked_int(read_int_attribute(f, "n_heads", path), "n_heads", path);
  a.n_kv_heads = checked_int(read_int_attribute(f, "n_kv_heads", path), "n_kv_heads", path);
  a.head_dim = checked_int(read_int_attribute(f, "head_dim", path), "head_dim", path);
  a.hidden_size = checked_int(read_int_attribute(f, "hidden_size", path), "hidden_size", path);
  a.n_tokens = checked_int(read_int_attribute(f, "n_tokens", path), "n_tokens", path);
  a.rope_theta = read_float_attribute(f, "rope_theta", path);
  if (H5Aexists(f, "attn_scale") > 0) a.attn_scale = read_float_attribute(f, "attn_scale", path);
  if (H5Aexists(f, "context_len") > 0)
    a.context_len = checked_int(read_int_attribute(f, "context_len", path), "context_len", path);
  if (H5Aexists(f, "question_len") > 0)
    a.question_len = checked_int(read_int_attribute(f, "question_len", path), "question_len", path);
  a.validate(path);
  impl_->validate_layers();
}

DumpReader::~DumpReader() = default;
DumpReader::DumpReader(DumpReader&&) noexcept = default;
DumpReader& DumpReader::operator=(DumpReader&&) noexcept = default;

void DumpReader::Impl::validate_layers() {
  const auto T = static_cast<std::size_t>(attrs.n_tokens);
  const auto H = static_cast<std::size_t>(attrs.n_heads);
  const auto G = static_cast<std::size_t>(attrs.n_kv_heads);
  const auto d = static_cast<std::size_t>(attrs.head_dim);
  const auto D = static_cast<std::size_t>(attrs.hidden_size);
  hid_t f = file.get();

  DatasetInfo tokens = dataset_info(f, "/tokens", path);
  if (!tokens.exists) throw InputError(path + ": missing dataset /tokens");
  if (tokens.type_class != H5T_INTEGER)
    throw InputError(path + ": /tokens must hold integers, found " + float_dtype_name(tokens));
  if (tokens.dims != std::vector<std::size_t>{T})
    throw InputError(path + ": /tokens has shape " + shape_string(tokens.dims) + ", expected [" +
                     std::to_string(T) + "] (n_tokens)");

  const std::map<std::string, std::vector<std::size_t>> required = {
      {"q", {H, T, d}}, {"k", {G, T, d}}, {"v", {G, T, d}}};
  const std::map<std::string, std::vector<std::size_t>> optional = {
      {"o_proj", {D, H * d}}, {"q_pre_rope", {H, T, d}}, {"hidden_norm", {T}}};
  // Grown one validated layer at a time: n_layers comes from the file, and a
  // corrupt value (2^31 - 1) must end at the first missing layer, not size a table.
  layers.clear();
  for (int l = 0; l < attrs.n_layers; ++l) {
    layers.emplace_back();
    auto check = [&](const std::string& name, const std::vector<std::size_t>& expected, bool must) {
      const std::string ds = layer_path(l, name);
      DatasetInfo info = dataset_info(f, ds, path);
      if (!info.exists) {
        if (must) throw InputError(path + ": missing dataset " + ds);
        return;
      }
      if (info.type_class != H5T_FLOAT || (info.type_size != 4 && info.type_size != 2))
        throw InputError(path + ": " + ds + " has element type " + float_dtype_name(info) +
                         ", expected float32 or float16");
      if (info.dims.size() != expected.size())
        throw InputError(path + ": " + ds + " has rank " + std::to_string(info.dims.size()) +
                         ", expected rank " + std::to_string(expected.size()) + " " +
                         shape_string(expected));
      if (info.dims != expected)
        throw InputError(path + ": " + ds + " has shape " + shape_string(info.dims) + ", expected " +
                         shape_string(expected) + " from the root attributes");
      if (!info.unwritten.empty())
        throw InputError(path + ": " + ds + " was never completely written (" + info.unwritten + ")");
      layers[static_cast<std::size_t>(l)][name] = info;
    };
    for (const auto& [name, shape] : required) check(name, shape, true);
    for (const auto& [name, shape] : optional) check(name, shape, false);
  }
  if (link_exists(f, "/layers/" + std::to_string(attrs.n_layers)))
    throw InputError(path + ": has /layers/" + std::to_string(attrs.n_layers) +
                     " but n_layers = " + std::to_string(attrs.n_layers));
}

const DatasetInfo& DumpReader::Impl::info(int layer, const std::string& name) const {
  if (layer < 0 || layer >= attrs.n_layers)
    throw InputError(path + ": layer " + std::to_string(layer) + " out of range [0, " +
                     std::to_string(attrs.n_layers) + ")");
  const auto& datasets = layers[static_cast<std::size_t>(layer)];
  auto it = datasets.find(name);
  if (it == datasets.end()) throw InputError(path + ": missing dataset " + layer_path(layer, name));
  return it->second;
}

void DumpReader::Impl::read_floats(const std::string& dataset, const std::vector<hsize_t>& start,
                                   const std::vector<hsize_t>& count, float* out) const {
  hsize_t n = 1;
  for (hsize_t c : count) n *= c;
  // Generous: a healthy disk delivers far more than 1 MB/s.
  const WatchdogGuard watchdog(60.0 + static_cast<double>(n) * 4 / 1e6, path + ": reading " + dataset);
  H5Id ds(H5Dopen2(file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw InputError(path + ": cannot open dataset " + dataset);
  H5Id filespace(H5Dget_space(ds.get()), H5Sclose);
  if (H5Sselect_hyperslab(filespace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                          nullptr) < 0)
    throw InputError(path + ": " + dataset + ": invalid selection");
  H5Id memspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
  H5Id file_type(H5Dget_type(ds.get()), H5Tclose);
  prefer_huge_pages(out, static_cast<std::size_t>(n) * sizeof(float));
  H5Id native_half = make_half_type();
  const bool is_f32 = H5Tequal(file_type.get(), H5T_NATIVE_FLOAT) > 0;
  const bool is_f16 = H5Tequal(file_type.get(), native_half.get()) > 0;
  if ((is_f32 || is_f16) && read_row_chunks(ds.get(), fd, size, is_f32 ? StoredFloat::f32 : StoredFloat::f16, start,
                                            count, out, path + ": " + dataset))
    return;
  herr_t status;
  if (H5Tget_class(file_type.get()) == H5T_FLOAT && H5Tget_size(file_type.get()) == 2) {
    // Read the raw halves (no HDF5 conversion) and widen them ourselves: see io/half.hpp.
    std::vector<std::uint16_t> raw(static_cast<std::size_t>(n));
    status = H5Dread(ds.get(), native_half.get(), memspace.get(), filespace.get(), H5P_DEFAULT, raw.data());
    widen_halves(raw.data(), out, raw.size());
  } else {
    status = H5Dread(ds.get(), H5T_NATIVE_FLOAT, memspace.get(), filespace.get(), H5P_DEFAULT, out);
  }
  if (status < 0)
    throw InputError(path + ": cannot read dataset " + dataset + " (truncated or corrupt file?)");
}

const DumpAttrs& DumpReader::attrs() const { return impl_->attrs; }
const std::string& DumpReader::path() const { return impl_->path; }
std::uintmax_t DumpReader::file_size() const { return impl_->size; }

bool DumpReader::has(int layer, const std::string& name) const {
  if (layer < 0 || layer >= impl_->attrs.n_layers) return false;
  return impl_->layers[static_cast<std::size_t>(layer)].count(name) > 0;
}

bool DumpReader::has_o_proj() const {
  for (int l = 0; l < impl_->attrs.n_layers; ++l)
    if (!has(l, "o_proj")) return false;
  return true;
}

std::string DumpReader::dtype_name(int layer, const std::string& name) const {
  return float_dtype_name(impl_->info(layer, name));
}

std::uint64_t DumpReader::stored_bytes(int layer, const std::string& name) const {
  if (!has(layer, name)) return 0;
  const DatasetInfo& info = impl_->info(layer, name);
  std::uint64_t n = info.type_size;
  for (std::size_t dim : info.dims) n *= dim;
  return n;
}

std::vector<std::size_t> DumpReader::shape(int layer, const std::string& name) const {
  return impl_->info(layer, name).dims;
}

std::vector<int> DumpReader::tokens() const {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const WatchdogGuard watchdog(60, impl_->path + ": reading /tokens");
  std::vector<int> ids(static_cast<std::size_t>(impl_->attrs.n_tokens));
  H5Id ds(H5Dopen2(impl_->file.get(), "/tokens", H5P_DEFAULT), H5Dclose);
  if (!ds.valid() || H5Dread(ds.get(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data()) < 0)
    throw InputError(impl_->path + ": cannot read dataset /tokens");
  return ids;
}

std::vector<std::string> DumpReader::token_text() const {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const WatchdogGuard watchdog(60, impl_->path + ": reading /token_text");
  hid_t f = impl_->file.get();
  if (!link_exists(f, "/token_text")) return {};
  H5Id ds(H5Dopen2(f, "/token_text", H5P_DEFAULT), H5Dclose);
  H5Id space(H5Dget_space(ds.get()), H5Sclose);
  H5Id type(H5Dget_type(ds.get()), H5Tclose);
  if (!ds.valid() || H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0)
    throw InputError(impl_->path + ": /token_text must be a variable-length string dataset");
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n != impl_->attrs.n_tokens)
    throw InputError(impl_->path + ": /token_text has " + std::to_string(n) + " entries, expected n_tokens");
  std::vector<char*> raw(static_cast<std::size_t>(n), nullptr);
  H5Id memtype(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memtype.get(), H5T_VARIABLE);
  H5Tset_cset(memtype.get(), H5T_CSET_UTF8);
  if (H5Dread(ds.get(), memtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
    throw InputError(impl_->path + ": cannot read dataset /token_text");
  std::vector<std::string> text;
  text.reserve(raw.size());
  for (char* s : raw) text.emplace_back(s ? s : "");
  H5Dvlen_reclaim(memtype.get(), space.get(), H5P_DEFAULT, raw.data());
  return text;
}

Tensor3 DumpReader::read_slice(int layer, const std::string& name, int head_begin, int head_end,
                               int tok_begin, int tok_end) const {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const DatasetInfo& info = impl_->info(layer, name);
  if (info.dims.size() != 3) throw InputError(impl_->path + ": " + layer_path(layer, name) + " is not a [heads, tokens, dim] dataset");
  if (head_begin < 0 || head_end > static_cast<int>(info.dims[0]) || head_begin >= head_end ||
      tok_begin < 0 || tok_end > static_cast<int>(info.dims[1]) || tok_begin >= tok_end)
    throw InputError(impl_->path + ": " + layer_path(layer, name) + ": slice heads [" +
                     std::to_string(head_begin) + "," + std::to_string(head_end) + ") tokens [" +
                     std::to_string(tok_begin) + "," + std::to_string(tok_end) + ") outside " +
                     shape_string(info.dims));
  const auto heads = static_cast<std::size_t>(head_end - head_begin);
  const auto toks = static_cast<std::size_t>(tok_end - tok_begin);
  Tensor3 out = Tensor3::from_shape({heads, toks, info.dims[2]});
  impl_->read_floats(layer_path(layer, name),
                     {static_cast<hsize_t>(head_begin), static_cast<hsize_t>(tok_begin), 0},
                     {heads, toks, info.dims[2]}, out.data());
  return out;
}

Matrix DumpReader::read_o_proj(int layer) const {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const DatasetInfo& info = impl_->info(layer, "o_proj");
  Matrix out = Matrix::from_shape({info.dims[0], info.dims[1]});
  impl_->read_floats(layer_path(layer, "o_proj"), {0, 0}, {info.dims[0], info.dims[1]}, out.data());
  return out;
}

LayerTensors DumpReader::read_layer(int layer, const LayerFields& fields) const {
  const DumpAttrs& a = impl_->attrs;
  LayerTensors t;
  if (fields.q) t.q = read_slice(layer, "q", 0, a.n_heads, 0, a.n_tokens);
  if (fields.k) t.k = read_slice(layer, "k", 0, a.n_kv_heads, 0, a.n_tokens);
  if (fields.v) t.v = read_slice(layer, "v", 0, a.n_kv_heads, 0, a.n_tokens);
  if (fields.o_proj && has(layer, "o_proj")) t.o_proj = read_o_proj(layer);
  if (fields.q_pre_rope && has(layer, "q_pre_rope"))
    t.q_pre_rope = read_slice(layer, "q_pre_rope", 0, a.n_heads, 0, a.n_tokens);
  if (fields.hidden_norm && has(layer, "hidden_norm")) {
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    Vector norms = Vector::from_shape({static_cast<std::size_t>(a.n_tokens)});
    impl_->read_floats(layer_path(layer, "hidden_norm"), {0}, {static_cast<hsize_t>(a.n_tokens)},
                       norms.data());
    t.hidden_norm = std::move(norms);
  }
  return t;
}

// ---------------------------------------------------------------- writer

struct DumpWriter::Impl {
  DumpAttrs attrs;
  StorageType storage;
  DumpLayout layout;
  std::unique_ptr<AtomicFile> target;
  H5Id file;
  H5Id layers_group;
  H5Id float_type;
  std::vector<bool> written;
  bool tokens_written = false;

  void write_int(const char* name, long long value);
  void write_double(const char* name, double value);
  void write_string(const char* name, const std::string& value);
  void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                     const float* data, const std::string& where);
};

void DumpWriter::Impl::write_int(const char* name, long long value) {
  write_int_attribute(file.get(), name, value, target->final_path());
}

void DumpWriter::Impl::write_double(const char* name, double value) {
  write_double_attribute(file.get(), name, value, target->final_path());
}

void DumpWriter::Impl::write_string(const char* name, const std::string& value) {
  write_string_attribute(file.get(), name, value, target->final_path());
}

void DumpWriter::Impl::write_dataset(hid_t parent, const std::string& name,
                                     const std::vector<hsize_t>& dims, const float* data,
                                     const std::string& where) {
  const int rank = static_cast<int>(dims.size());
  H5Id space(H5Screate_simple(rank, dims.data(), nullptr), H5Sclose);
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), 0);  // no timestamps: same data => same bytes
  std::vector<hsize_t> chunk = dims;
  if (rank == 3) {
    chunk = {1, std::min<hsize_t>(dims[1], kChunkTokens), dims[2]};
  } else if (rank == 2) {
    chunk = {std::min<hsize_t>(dims[0], 256), dims[1]};
  } else {
    chunk = {std::min<hsize_t>(dims[0], 4096)};
  }
  H5Pset_chunk(dcpl.get(), rank, chunk.data());
  if (layout.compact) {
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), 6);
  }
  H5Id ds(H5Dcreate2(parent, name.c_str(), float_type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                     H5P_DEFAULT),
          H5Dclose);
  herr_t status = -1;
  if (ds.valid() && storage == StorageType::f16) {
    std::vector<std::uint16_t> halves(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get())));
    for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = float_to_half(data[i]);
    status = H5Dwrite(ds.get(), float_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, halves.data());
  } else if (ds.valid()) {
    status = H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  }
  // Closing flushes the chunks still in the chunk cache: its failure is a
  // write failure too, and ignoring it would commit a dump with holes.
  if (status >= 0) status = ds.close();
  if (status < 0)
    throw InputError(target->final_path() + ": cannot write dataset " + where + ": " + write_failure_reason());
}

DumpWriter::DumpWriter(const std::string& path, DumpAttrs attrs, StorageType storage, DumpLayout layout)
    : impl_(std::make_unique<Impl>()) {
  silence_hdf5_errors();
  attrs.validate(path);
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  impl_->attrs = attrs;
  impl_->storage = storage;
  impl_->layout = layout;
  impl_->target = std::make_unique<AtomicFile>(path);
  impl_->written.assign(static_cast<std::size_t>(attrs.n_layers), false);
  H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_obj_track_times(fcpl.get(), 0);
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (layout.compact) H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110);
  impl_->file = H5Id(H5Fcreate(impl_->target->temp_path().c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
  if (!impl_->file.valid())
    throw InputError(path + ": cannot create file (directory missing or not writable?)");
  impl_->float_type = storage == StorageType::f16 ? make_half_type() : H5Id(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
  impl_->write_int("kvdump_version", attrs.version);
  impl_->write_string("model", attrs.model);
  impl_->write_string("source", attrs.source);
  impl_->write_int("n_layers", attrs.n_layers);
  impl_->write_int("n_heads", attrs.n_heads);
  impl_->write_int("n_kv_heads", attrs.n_kv_heads);
  impl_->write_int("head_dim", attrs.head_dim);
  impl_->write_int("hidden_size", attrs.hidden_size);
  impl_->write_int("n_tokens", attrs.n_tokens);
  impl_->write_double("rope_theta", attrs.rope_theta);
  if (attrs.attn_scale) impl_->write_double("attn_scale", *attrs.attn_scale);
  if (attrs.context_len) impl_->write_int("context_len", *attrs.context_len);
  if (attrs.question_len) impl_->write_int("question_len", *attrs.question_len);
  H5Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), 0);
  impl_->layers_group = H5Id(H5Gcreate2(impl_->file.get(), "layers", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
}

DumpWriter::~DumpWriter() {
  if (!impl_) return;
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  impl_->layers_group.reset();
  impl_->float_type.reset();
  impl_->file.reset();
  impl_->target.reset();  // removes the temporary file when finish() did not run
}

void DumpWriter::write_tokens(const std::vector<int>& ids, const std::vector<std::string>& text) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const auto T = static_cast<std::size_t>(impl_->attrs.n_tokens);
  if (ids.size() != T)
    throw InputError("write_tokens: " + std::to_string(ids.size()) + " ids for n_tokens = " + std::to_string(T));
  if (!text.empty() && text.size() != T)
    throw InputError("write_tokens: " + std::to_string(text.size()) + " token texts for n_tokens = " + std::to_string(T));
  hsize_t dims[1] = {T};
  H5Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), 0);
  H5Id ds(H5Dcreate2(impl_->file.get(), "tokens", H5T_STD_I32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid() || H5Dwrite(ds.get(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data()) < 0 ||
      ds.close() < 0)
    throw InputError(impl_->target->final_path() + ": cannot write /tokens: " + write_failure_reason());
  if (!text.empty()) {
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    std::vector<const char*> raw;
    raw.reserve(T);
    for (const auto& s : text) raw.push_back(s.c_str());
    H5Id tds(H5Dcreate2(impl_->file.get(), "token_text", type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
    if (!tds.valid() || H5Dwrite(tds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0 ||
        tds.close() < 0)
      throw InputError(impl_->target->final_path() + ": cannot write /token_text: " + write_failure_reason());
  }
  impl_->tokens_written = true;
}

void DumpWriter::write_layer(int layer, const LayerTensors& t) {
  const DumpAttrs& a = impl_->attrs;
  const std::string where = impl_->target->final_path() + ": layer " + std::to_string(layer);
  if (layer < 0 || layer >= a.n_layers) throw InputError(where + " out of range");
  if (impl_->written[static_cast<std::size_t>(layer)]) throw InputError(where + " written twice");
  const auto T = static_cast<std::size_t>(a.n_tokens);
  const auto H = static_cast<std::size_t>(a.n_heads);
  const auto G = static_cast<std::size_t>(a.n_kv_heads);
  const auto d = static_cast<std::size_t>(a.head_dim);
  const auto D = static_cast<std::size_t>(a.hidden_size);
  auto expect = [&](const char* name, const auto& shape, std::vector<std::size_t> want) {
    std::vector<std::size_t> got(shape.begin(), shape.end());
    if (got != want)
      throw InputError(where + ": tensor " + name + " has shape " + shape_string(got) +
                       ", expected " + shape_string(want));
  };
  expect("q", t.q.shape(), {H, T, d});
  expect("k", t.k.shape(), {G, T, d});
  expect("v", t.v.shape(), {G, T, d});
  if (t.o_proj) expect("o_proj", t.o_proj->shape(), {D, H * d});
  if (t.q_pre_rope) expect("q_pre_rope", t.q_pre_rope->shape(), {H, T, d});
  if (t.hidden_norm) expect("hidden_norm", t.hidden_norm->shape(), {T});

  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), 0);
  H5Id group(H5Gcreate2(impl_->layers_group.get(), std::to_string(layer).c_str(), H5P_DEFAULT,
                        gcpl.get(), H5P_DEFAULT),
             H5Gclose);
  if (!group.valid()) throw InputError(where + ": cannot create group");
  auto dims3 = [](const Tensor3& x) {
    return std::vector<hsize_t>{x.shape()[0], x.shape()[1], x.shape()[2]};
  };
  const std::string prefix = layer_path(layer, "");
  impl_->write_dataset(group.get(), "q", dims3(t.q), t.q.data(), prefix + "q");
  impl_->write_dataset(group.get(), "k", dims3(t.k), t.k.data(), prefix + "k");
  impl_->write_dataset(group.get(), "v", dims3(t.v), t.v.data(), prefix + "v");
  if (t.o_proj)
    impl_->write_dataset(group.get(), "o_proj", {t.o_proj->shape()[0], t.o_proj->shape()[1]},
                         t.o_proj->data(), prefix + "o_proj");
  if (t.q_pre_rope)
    impl_->write_dataset(group.get(), "q_pre_rope", dims3(*t.q_pre_rope), t.q_pre_rope->data(),
                         prefix + "q_pre_rope");
  if (t.hidden_norm)
    impl_->write_dataset(group.get(), "hidden_norm", {t.hidden_norm->shape()[0]},
                         t.hidden_norm->data(), prefix + "hidden_norm");
  impl_->written[static_cast<std::size_t>(layer)] = true;
}

void DumpWriter::finish() {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const std::string& path = impl_->target->final_path();
  if (!impl_->tokens_written) throw InputError(path + ": /tokens was never written");
  for (std::size_t l = 0; l < impl_->written.size(); ++l)
    if (!impl_->written[l]) throw InputError(path + ": layer " + std::to_string(l) + " was never written");
  impl_->layers_group.reset();
  impl_->float_type.reset();
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0 || impl_->file.close() < 0)
    throw InputError(path + ": cannot finish writing: " + write_failure_reason());
  impl_->target->commit();
}

}  // namespace kvsim
