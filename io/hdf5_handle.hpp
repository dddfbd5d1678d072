#pragma once
// RAII ownership of HDF5 C-API identifiers; HDF5 is not built thread-safe on
// Debian, so every call into it happens under hdf5_mutex().
#include <hdf5.h>

#include <mutex>
#include <utility>

namespace kvsim {

std::mutex& hdf5_mutex();

class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~H5Id() { reset(); }

  void reset() { close(); }
  // Closing can write (a dataset's cached chunks, the file's metadata), so a
  // writer checks this status: a failed close means data never reached disk.
  herr_t close() {
    herr_t status = 0;
    if (id_ >= 0 && closer_) status = closer_(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

}  // namespace kvsim
