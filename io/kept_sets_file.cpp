#include "io/kept_sets_file.hpp"

#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <mutex>

#include "io/atomic_file.hpp"
#include "io/errors.hpp"
#include "io/hdf5_attributes.hpp"
#include "io/hdf5_handle.hpp"

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

}  // namespace

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
