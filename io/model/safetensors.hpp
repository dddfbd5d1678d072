#pragma once
// One .safetensors file: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}}, then the raw tensor bytes. The file is
// memory-mapped; tensors are views into the map. Every tensor's byte range is
// checked against its dtype/shape and against the file size when the file is
// opened, so a truncated download fails at load time with the file named.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/model/mapped_file.hpp"
#include "io/model/weight_matrix.hpp"

namespace kvsim {

struct SafetensorsTensor {
  std::string name;
  WeightDType dtype = WeightDType::f32;
  std::vector<std::int64_t> shape;
  const std::uint8_t* bytes = nullptr;  // into the file's memory map
  std::size_t n_bytes = 0;
  std::string file;  // for error messages

  std::size_t numel() const;
  std::string shape_string() const;  // "[2048, 128]"
};

class SafetensorsFile {
 public:
  // Throws InputError for a malformed header, an unsupported dtype (naming the
  // tensor and dtype) or data offsets beyond the end of the file.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return map_->path(); }
  const std::map<std::string, SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  void reject_overlapping_data(const std::string& path) const;

  std::shared_ptr<MappedFile> map_;
  const std::uint8_t* data_start_ = nullptr;  // first byte after the header
  std::map<std::string, SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace kvsim
