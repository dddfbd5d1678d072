#pragma once
// A read-only memory map of a whole file. Checkpoints are used straight from
// the page cache through this map, so loading a model never copies the weight
// file into process memory (fp32 tensors are read in place).
#include <cstddef>
#include <cstdint>
#include <string>

namespace kvsim {

class MappedFile {
 public:
  // Throws InputError naming the path when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kvsim
