#include "io/kept_sets_file.hpp"

#include <hdf5.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "io/atomic_file.hpp"
#include "io/errors.hpp"
#include "io/hdf5_attributes.hpp"
#include "io/hdf5_handle.hpp"
#include "io/regular_file.hpp"
#include "io/watchdog.hpp"

namespace kvsim {

namespace {

H5Id untimed_group(hid_t parent, const std::string& name, const std::string& where) {
  H5Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), 0);
  H5Id group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) throw InputError(where + ": cannot create group " + name);
  return group;
}

template <class T>
void write_vector(hid_t parent, const char* name, hid_t file_type, hid_t memory_type, const std::vector<T>& data,
                  const std::string& where) {
  const hsize_t n = data.size();
  H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), 0);
  H5Id ds(H5Dcreate2(parent, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid() || (n > 0 && H5Dwrite(ds.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) ||
      ds.close() < 0)
    throw InputError(where + ": cannot write dataset " + name + " (disk full?)");
}

void write_layer(hid_t item, int layer, const KeptSet& kept, int context_len, int n_kv_heads, const std::string& where) {
  if (static_cast<int>(kept.size()) != n_kv_heads)
    throw std::logic_error("kept set of layer " + std::to_string(layer) + " has " + std::to_string(kept.size()) +
                           " KV heads, not " + std::to_string(n_kv_heads));
  std::vector<std::int32_t> positions;
  std::vector<std::int64_t> offsets = {0};
  for (const auto& head : kept) {
    for (int p : head) {
      if (p < 0 || p >= context_len) throw std::logic_error("kept position outside the context");
      positions.push_back(p);
    }
    offsets.push_back(static_cast<std::int64_t>(positions.size()));
  }
  H5Id group = untimed_group(item, std::to_string(layer), where);
  write_vector(group.get(), "positions", H5T_STD_I32LE, H5T_NATIVE_INT32, positions, where);
  write_vector(group.get(), "offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, offsets, where);
}

template <class T>
std::vector<T> read_vector(hid_t parent, const std::string& name, hid_t memory_type, const std::string& path,
                           const std::string& object) {
  if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) <= 0)
    throw InputError(path + ": " + object + "/" + name + " is missing");
  H5Id ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  H5Id type(ds.valid() ? H5Dget_type(ds.get()) : H5I_INVALID_HID, H5Tclose);
  H5Id space(ds.valid() ? H5Dget_space(ds.get()) : H5I_INVALID_HID, H5Sclose);
  if (!ds.valid() || !type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_INTEGER ||
      H5Sget_simple_extent_ndims(space.get()) != 1)
    throw InputError(path + ": " + object + "/" + name + " must be a 1-D integer dataset");
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  if (n > (hsize_t(1) << 31)) throw InputError(path + ": " + object + "/" + name + " is implausibly large");
  std::vector<T> out(n);
  if (n > 0 && H5Dread(ds.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw InputError(path + ": cannot read " + object + "/" + name);
  return out;
}

KeptSet read_layer(hid_t group, const std::string& path, const std::string& object, int C, int G) {
  const auto positions = read_vector<std::int32_t>(group, "positions", H5T_NATIVE_INT32, path, object);
  const auto offsets = read_vector<std::int64_t>(group, "offsets", H5T_NATIVE_INT64, path, object);
  if (offsets.size() != std::size_t(G) + 1 || offsets.front() != 0 ||
      offsets.back() != static_cast<std::int64_t>(positions.size()))
    throw InputError(path + ": " + object + "/offsets must hold n_kv_heads + 1 = " + std::to_string(G + 1) +
                     " values from 0 to the number of positions");
  KeptSet kept(G);
  for (int g = 0; g < G; ++g) {
    if (offsets[g + 1] < offsets[g]) throw InputError(path + ": " + object + "/offsets must not decrease");
    for (std::int64_t k = offsets[g]; k < offsets[g + 1]; ++k) {
      const int p = positions[k];
      if (p < 0 || p >= C)
        throw InputError(path + ": " + object + "/positions: " + std::to_string(p) + " is outside the context [0, " +
                         std::to_string(C) + ")");
      if (!kept[g].empty() && p <= kept[g].back())
        throw InputError(path + ": " + object + "/positions of KV head " + std::to_string(g) +
                         " must be strictly ascending (" + std::to_string(p) + " after " +
                         std::to_string(kept[g].back()) + ")");
      kept[g].push_back(p);
    }
  }
  return kept;
}

int checked_count(long long v, const char* name, const std::string& path, const std::string& object) {
  if (v < 0 || v > (1LL << 30))
    throw InputError(path + ": " + object + " attribute " + name + " = " + std::to_string(v) + " is out of range");
  return static_cast<int>(v);
}

}  // namespace

KeptSetsFile read_kept_sets_file(const std::string& path) {
  require_regular_file(path);
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  const WatchdogGuard watchdog(60, path + ": reading the kept sets");
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) throw InputError(path + ": not an HDF5 file (expected a kept.h5 from --save-kept)");
  KeptSetsFile out;
  if (read_string_attribute(file.get(), "format", path) != "kvsim-kept")
    throw InputError(path + ": attribute format is not 'kvsim-kept' (not a kept.h5 from --save-kept)");
  if (read_int_attribute(file.get(), "version", path) != 1)
    throw InputError(path + ": kept.h5 version " + std::to_string(read_int_attribute(file.get(), "version", path)) +
                     " is not supported (this kvsim reads version 1)");
  out.dump = read_string_attribute(file.get(), "dump", path);
  out.context_len = checked_count(read_int_attribute(file.get(), "context_len", path), "context_len", path, "root");
  out.n_kv_heads = checked_count(read_int_attribute(file.get(), "n_kv_heads", path), "n_kv_heads", path, "root");
  if (H5Lexists(file.get(), "items", H5P_DEFAULT) <= 0) throw InputError(path + ": /items is missing");
  H5Id items(H5Gopen2(file.get(), "items", H5P_DEFAULT), H5Gclose);
  H5G_info_t info{};
  if (!items.valid() || H5Gget_info(items.get(), &info) < 0) throw InputError(path + ": /items is not a group");
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const std::string object = "/items/" + std::to_string(i);
    if (H5Lexists(items.get(), std::to_string(i).c_str(), H5P_DEFAULT) <= 0)
      throw InputError(path + ": " + object + " is missing (items are numbered 0, 1, ...)");
    H5Id item(H5Gopen2(items.get(), std::to_string(i).c_str(), H5P_DEFAULT), H5Gclose);
    if (!item.valid()) throw InputError(path + ": " + object + " is not a group");
    KeptSetsItem it;
    it.policy = read_string_attribute(item.get(), "policy", path, object.c_str());
    it.budget_tokens = checked_count(read_int_attribute(item.get(), "budget", path, object.c_str()), "budget", path, object);
    it.budget_ratio = read_float_attribute(item.get(), "budget_ratio", path, object.c_str());
    it.block = checked_count(read_int_attribute(item.get(), "block", path, object.c_str()), "block", path, object);
    H5G_info_t layers{};
    if (H5Gget_info(item.get(), &layers) < 0) throw InputError(path + ": cannot list " + object);
    for (hsize_t k = 0; k < layers.nlinks; ++k) {
      char name[32] = {0};
      if (H5Lget_name_by_idx(item.get(), ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name, H5P_DEFAULT) < 0)
        throw InputError(path + ": cannot list " + object);
      char* end = nullptr;
      const long layer = std::strtol(name, &end, 10);
      if (end == name || *end != '\0' || layer < 0 || layer > (1L << 20))
        throw InputError(path + ": " + object + "/" + name + " is not a layer index");
      H5Id group(H5Gopen2(item.get(), name, H5P_DEFAULT), H5Gclose);
      if (!group.valid()) throw InputError(path + ": " + object + "/" + name + " is not a group");
      it.layers.push_back(static_cast<int>(layer));
      it.kept.push_back(read_layer(group.get(), path, object + "/" + name, out.context_len, out.n_kv_heads));
    }
    out.items.push_back(std::move(it));
  }
  return out;
}

void write_kept_sets_file(const std::string& path, const std::string& dump_label, int context_len, int n_kv_heads,
                          const std::vector<KeptSetsItem>& items) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  AtomicFile target(path);
  {
    H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    H5Pset_obj_track_times(fcpl.get(), 0);
    H5Id file(H5Fcreate(target.temp_path().c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), H5Fclose);
    if (!file.valid()) throw InputError(path + ": cannot create file (directory missing or not writable?)");
    write_string_attribute(file.get(), "format", "kvsim-kept", path);
    write_int_attribute(file.get(), "version", 1, path);
    write_string_attribute(file.get(), "dump", dump_label, path);
    write_int_attribute(file.get(), "context_len", context_len, path);
    write_int_attribute(file.get(), "n_kv_heads", n_kv_heads, path);
    H5Id all = untimed_group(file.get(), "items", path);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const KeptSetsItem& it = items[i];
      H5Id item = untimed_group(all.get(), std::to_string(i), path);
      write_string_attribute(item.get(), "policy", it.policy, path);
      write_int_attribute(item.get(), "budget", it.budget_tokens, path);
      write_double_attribute(item.get(), "budget_ratio", it.budget_ratio, path);
      write_int_attribute(item.get(), "block", it.block, path);
      for (std::size_t l = 0; l < it.layers.size(); ++l)
        write_layer(item.get(), it.layers[l], it.kept.at(l), context_len, n_kv_heads, path);
    }
    all.close();
    if (file.close() < 0) throw InputError(path + ": cannot finish the file (disk full?)");
  }
  target.commit();
}

}  // namespace kvsim
