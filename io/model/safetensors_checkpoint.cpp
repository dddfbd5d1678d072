#include "io/model/safetensors_checkpoint.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/errors.hpp"
#include "io/finite_values.hpp"
#include "io/half.hpp"
#include "io/json_error.hpp"
#include "io/regular_file.hpp"

namespace kvsim {

namespace fs = std::filesystem;

namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::vector<std::string> shard_names_from_index(const fs::path& index_path) {
  require_regular_file(index_path.string());
  std::ifstream in(index_path);
  if (!in) throw InputError(index_path.string() + ": cannot open");
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(index_path.string() + ": not valid JSON: " + json_error_detail(e));
  }
  if (!index.contains("weight_map") || !index["weight_map"].is_object())
    throw InputError(index_path.string() + ": missing 'weight_map'");
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string())
      throw InputError(index_path.string() + ": weight_map." + tensor + ": expected a file name, got " + shard.dump());
    shards.insert(shard.get<std::string>());
  }
  return {shards.begin(), shards.end()};
}

// A NaN/Inf weight makes every activation after it NaN: refused at load time.
void require_shape(const SafetensorsTensor& t, const std::vector<std::int64_t>& expected_shape) {
  if (t.shape != expected_shape) {
    throw InputError(t.file + ": tensor '" + t.name + "' has shape " + t.shape_string() + ", expected " +
                     shape_string(expected_shape) + " from config.json");
  }
}

const float* checked_finite(const SafetensorsTensor& t, const float* values) {
  const std::size_t at = first_nonfinite(values, t.numel());
  if (at != t.numel())
    throw InputError(t.file + ": tensor '" + t.name + "' has a non-finite value (" + nonfinite_name(values[at]) +
                     ") at index " + std::to_string(at));
  return values;
}

}  // namespace

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& directory) : directory_(directory) {
  const fs::path dir(directory);
  std::vector<std::string> shard_names;
  auto present = [](const fs::path& path) { return path_status(path.string()).kind != PathKind::missing; };
  if (present(dir / "model.safetensors.index.json")) {
    shard_names = shard_names_from_index(dir / "model.safetensors.index.json");
  } else if (present(dir / "model.safetensors")) {
    shard_names = {"model.safetensors"};
  } else {
    throw InputError(directory + ": no model.safetensors or model.safetensors.index.json");
  }
  for (const auto& shard : shard_names) {
    const fs::path path = dir / shard;
    if (!present(path)) throw InputError(path.string() + ": shard listed in the index is missing");
    files_.push_back(std::make_shared<SafetensorsFile>(path.string()));
    for (const auto& [name, tensor] : files_.back()->tensors()) {
      // Two shards holding one name: which copy wins would depend on shard order.
      const auto [it, added] = by_name_.emplace(name, &tensor);
      if (!added)
        throw InputError(directory + ": tensor '" + name + "' is stored twice, in " + it->second->file + " and " +
                         path.string());
    }
  }
}

bool SafetensorsCheckpoint::has(const std::string& name) const { return by_name_.count(name) > 0; }

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& entry : by_name_) out.push_back(entry.first);
  return out;
}

const SafetensorsTensor& SafetensorsCheckpoint::tensor(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw InputError(directory_ + ": tensor '" + name + "' is missing from the checkpoint");
  return *it->second;
}

const float* SafetensorsCheckpoint::f32(const std::string& name,
                                        const std::vector<std::int64_t>& expected_shape,
                                        WeightStorage& storage) const {
  const SafetensorsTensor& t = tensor(name);
  require_shape(t, expected_shape);
  const std::size_t n = t.numel();
  const bool aligned = reinterpret_cast<std::uintptr_t>(t.bytes) % alignof(float) == 0;
  if (t.dtype == WeightDType::f32 && aligned) return checked_finite(t, reinterpret_cast<const float*>(t.bytes));

  std::vector<float>& out = storage.widened.emplace_back(n);
  if (t.dtype == WeightDType::f32) {
    std::memcpy(out.data(), t.bytes, n * sizeof(float));  // misaligned: one copy
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t bits;
      std::memcpy(&bits, t.bytes + 2 * i, 2);
      out[i] = t.dtype == WeightDType::bf16 ? bfloat16_to_float(bits) : half_to_float(bits);
    }
  }
  return checked_finite(t, out.data());
}

WeightMatrix SafetensorsCheckpoint::matrix(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                                           WeightStorage& storage) const {
  const SafetensorsTensor& t = tensor(name);
  if (t.dtype == WeightDType::f32) return f32_matrix(f32(name, expected_shape, storage));
  require_shape(t, expected_shape);
  const std::size_t n = t.numel();
  const std::uint16_t* bits = reinterpret_cast<const std::uint16_t*>(t.bytes);
  if (reinterpret_cast<std::uintptr_t>(t.bytes) % alignof(std::uint16_t) != 0) {
    std::vector<std::uint16_t>& copy = storage.realigned.emplace_back(n);
    std::memcpy(copy.data(), t.bytes, n * sizeof(std::uint16_t));
    bits = copy.data();
  }
  // All-ones exponent: Inf or NaN (bf16: 8 bits at 0x7f80; f16: 5 at 0x7c00).
  const std::uint16_t exponent = t.dtype == WeightDType::bf16 ? 0x7f80 : 0x7c00;
  for (std::size_t i = 0; i < n; ++i) {
    if ((bits[i] & exponent) == exponent) {
      const float value = t.dtype == WeightDType::bf16 ? bfloat16_to_float(bits[i]) : half_to_float(bits[i]);
      throw InputError(t.file + ": tensor '" + t.name + "' has a non-finite value (" + nonfinite_name(value) +
                       ") at index " + std::to_string(i));
    }
  }
  return {bits, t.dtype};
}

void SafetensorsCheckpoint::retain_in(WeightStorage& storage) const {
  for (const auto& file : files_) storage.keep_alive.push_back(file);
}

}  // namespace kvsim
