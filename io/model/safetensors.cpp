#include "io/model/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/errors.hpp"
#include "io/json_error.hpp"

namespace kvsim {

std::size_t SafetensorsTensor::numel() const {
  std::size_t n = 1;
  for (auto dim : shape) n *= static_cast<std::size_t>(dim);
  return n;
}

std::string SafetensorsTensor::shape_string() const {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

namespace {

WeightDType parse_dtype(const std::string& path, const std::string& name, const std::string& text) {
  if (text == "F32") return WeightDType::f32;
  if (text == "F16") return WeightDType::f16;
  if (text == "BF16") return WeightDType::bf16;
  throw InputError(path + ": tensor '" + name + "' has unsupported dtype " + text +
                   " (supported: F32, F16, BF16)");
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path)
    : map_(std::make_shared<MappedFile>(path)) {
  const std::size_t file_size = map_->size();
  if (file_size < 8) throw InputError(path + ": truncated safetensors file (no header length)");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, map_->data(), 8);  // little-endian hosts only (x86-64, aarch64)
  if (header_len > file_size - 8) {
    throw InputError(path + ": truncated safetensors file: header of " + std::to_string(header_len) +
                     " bytes does not fit in a file of " + std::to_string(file_size) + " bytes");
  }
  const std::size_t data_start = 8 + header_len;
  data_start_ = map_->data() + data_start;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(map_->data() + 8, map_->data() + data_start);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": safetensors header is not valid JSON: " + json_error_detail(e));
  }
  if (!header.is_object()) throw InputError(path + ": safetensors header is not a JSON object");

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object()) {
        for (const auto& [key, value] : entry.items())
          if (value.is_string()) metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    SafetensorsTensor tensor;
    tensor.name = name;
    tensor.file = path;
    try {
      tensor.dtype = parse_dtype(path, name, entry.at("dtype").get<std::string>());
      tensor.shape = entry.at("shape").get<std::vector<std::int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offsets.size() != 2 || offsets[1] < offsets[0])
        throw InputError(path + ": tensor '" + name + "' has malformed data_offsets");
      for (auto dim : tensor.shape)
        if (dim < 0) throw InputError(path + ": tensor '" + name + "' has a negative dimension");
      tensor.n_bytes = offsets[1] - offsets[0];
      if (tensor.n_bytes != tensor.numel() * dtype_size(tensor.dtype)) {
        throw InputError(path + ": tensor '" + name + "' occupies " + std::to_string(tensor.n_bytes) +
                         " bytes but " + dtype_name(tensor.dtype) + " " + tensor.shape_string() +
                         " needs " + std::to_string(tensor.numel() * dtype_size(tensor.dtype)));
      }
      if (offsets[1] > file_size - data_start) {
        throw InputError(path + ": truncated safetensors file: tensor '" + name + "' ends at byte " +
                         std::to_string(data_start + offsets[1]) + " but the file has only " +
                         std::to_string(file_size) + " bytes");
      }
      tensor.bytes = map_->data() + data_start + offsets[0];
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path + ": tensor '" + name + "' has a malformed header entry (dtype, shape, data_offsets): " +
                       json_error_detail(e));
    }
    tensors_.emplace(name, std::move(tensor));
  }
  reject_overlapping_data(path);
}

// Two tensors sharing bytes would silently alias one weight to another.
void SafetensorsFile::reject_overlapping_data(const std::string& path) const {
  std::vector<const SafetensorsTensor*> by_start;
  for (const auto& entry : tensors_)
    if (entry.second.n_bytes > 0) by_start.push_back(&entry.second);
  std::sort(by_start.begin(), by_start.end(),
            [](const SafetensorsTensor* a, const SafetensorsTensor* b) { return a->bytes < b->bytes; });
  for (std::size_t i = 1; i < by_start.size(); ++i) {
    const SafetensorsTensor& before = *by_start[i - 1];
    const SafetensorsTensor& after = *by_start[i];
    if (after.bytes < before.bytes + before.n_bytes) {
      const auto offset = [&](const SafetensorsTensor& t, std::size_t extra) {
        return std::to_string(t.bytes - data_start_ + extra);
      };
      throw InputError(path + ": tensors '" + before.name + "' [" + offset(before, 0) + ", " +
                       offset(before, before.n_bytes) + ") and '" + after.name + "' [" + offset(after, 0) + ", " +
                       offset(after, after.n_bytes) + ") overlap in the data section");
    }
  }
}

}  // namespace kvsim
