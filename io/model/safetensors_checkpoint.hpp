#pragma once
// All safetensors files of one HF checkpoint directory: a single
// model.safetensors, or the shards listed in model.safetensors.index.json.
// Looks tensors up by name across shards and hands out fp32 views of them.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/model/model_weights.hpp"
#include "io/model/safetensors.hpp"

namespace kvsim {

class SafetensorsCheckpoint {
 public:
  // Throws InputError when the directory has neither file, or the index names
  // a shard that is missing.
  explicit SafetensorsCheckpoint(const std::string& directory);

  bool has(const std::string& name) const;
  std::vector<std::string> names() const;  // every tensor of every shard
  const SafetensorsTensor& tensor(const std::string& name) const;  // InputError when missing

  // fp32 view of tensor `name`, checked against `expected_shape` (InputError
  // naming the tensor, its shape and the expected one). fp32 data is used in
  // place; f16/bf16 data is widened once into `storage`.
  const float* f32(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                   WeightStorage& storage) const;
  // The same for a matrix, left in its own dtype inside the memory map
  // (copied only when misaligned); every value checked finite.
  WeightMatrix matrix(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                      WeightStorage& storage) const;

  // Keeps the memory maps alive for as long as `storage` lives.
  void retain_in(WeightStorage& storage) const;

  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsTensor*> by_name_;
};

}  // namespace kvsim
