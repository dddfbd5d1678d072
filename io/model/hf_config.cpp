#include "io/model/hf_config.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <type_traits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/errors.hpp"
#include "io/json_error.hpp"
#include "io/regular_file.hpp"

namespace kvsim {

namespace {

using nlohmann::json;

const std::set<std::string>& supported_architectures() {
  static const std::set<std::string> names = {"LlamaForCausalLM", "MistralForCausalLM",
                                              "Qwen2ForCausalLM", "Qwen3ForCausalLM"};
  return names;
}

// Typed reads of config.json values, naming the file and the field. nlohmann's
// own get<int>() would silently truncate 2.5 heads to 2, and its exceptions
// carry internal tags, so every value is checked here.
std::string shown(const json& value) {
  std::string text = value.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

[[noreturn]] void wrong_type(const json& value, const std::string& field, const char* expected,
                             const std::string& where) {
  throw InputError(where + ": " + field + ": expected " + expected + ", got " + shown(value));
}

int as_int(const json& value, const std::string& field, const std::string& where) {
  constexpr double lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)) return static_cast<int>(value.get<std::uint64_t>());
  } else if (value.is_number_integer()) {
    const auto x = value.get<std::int64_t>();
    if (x >= lo && x <= hi) return static_cast<int>(x);
  } else if (value.is_number_float()) {  // 4.0 is the integer 4; 2.5 is no head count
    const double x = value.get<double>();
    if (std::floor(x) == x && x >= lo && x <= hi) return static_cast<int>(x);
  }
  wrong_type(value, field, "an integer", where);
}

double as_number(const json& value, const std::string& field, const std::string& where) {
  if (!value.is_number()) wrong_type(value, field, "a number", where);
  return value.get<double>();
}

bool as_bool(const json& value, const std::string& field, const std::string& where) {
  if (!value.is_boolean()) wrong_type(value, field, "true or false", where);
  return value.get<bool>();
}

std::string as_string(const json& value, const std::string& field, const std::string& where) {
  if (!value.is_string()) wrong_type(value, field, "a string", where);
  return value.get<std::string>();
}

template <typename T>
T read_as(const json& value, const std::string& field, const std::string& where) {
  if constexpr (std::is_same_v<T, int>) return as_int(value, field, where);
  else if constexpr (std::is_same_v<T, double>) return as_number(value, field, where);
  else if constexpr (std::is_same_v<T, bool>) return as_bool(value, field, where);
  else return as_string(value, field, where);
}

// `prefix` names the enclosing object in messages ("rope_scaling.").
template <typename T>
T required(const json& object, const char* key, const std::string& where, const std::string& prefix = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null())
    throw InputError(where + ": missing required key '" + prefix + key + "'");
  return read_as<T>(*it, prefix + key, where);
}

template <typename T>
T optional(const json& object, const char* key, T fallback, const std::string& where, const std::string& prefix = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return read_as<T>(*it, prefix + key, where);
}

double positive(double value, const std::string& field, const std::string& where) {
  if (!(std::isfinite(value) && value > 0)) throw InputError(where + ": " + field + ": must be positive, got " + shown(value));
  return value;
}

RopeScaling parse_rope_scaling(const json& config, const std::string& where) {
  RopeScaling scaling;
  auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return scaling;
  const json& rs = *it;
  // A string or number here would otherwise be read as "no scaling": wrong
  // RoPE frequencies for every position, with no error.
  if (!rs.is_object()) wrong_type(rs, "rope_scaling", "an object", where);
  const std::string p = "rope_scaling.";
  const std::string type = rs.contains("rope_type") ? required<std::string>(rs, "rope_type", where, p)
                                                    : optional<std::string>(rs, "type", "default", where, p);
  if (type == "default") return scaling;
  if (type != "linear" && type != "llama3") {
    throw InputError(where + ": rope_scaling type '" + type +
                     "' is not supported (supported: default, linear, llama3)");
  }
  scaling.type = type;
  scaling.factor = positive(required<double>(rs, "factor", where, p), p + "factor", where);
  if (type == "llama3") {
    scaling.low_freq_factor = positive(required<double>(rs, "low_freq_factor", where, p), p + "low_freq_factor", where);
    scaling.high_freq_factor = positive(required<double>(rs, "high_freq_factor", where, p), p + "high_freq_factor", where);
    scaling.original_max_position_embeddings =
        positive(required<double>(rs, "original_max_position_embeddings", where, p),
                 p + "original_max_position_embeddings", where);
    // Their difference divides the interpolation: equal factors give NaN frequencies.
    if (!(scaling.high_freq_factor > scaling.low_freq_factor))
      throw InputError(where + ": rope_scaling.high_freq_factor (" + shown(rs["high_freq_factor"]) +
                       ") must be greater than low_freq_factor (" + shown(rs["low_freq_factor"]) + ")");
  }
  return scaling;
}

std::vector<std::string> string_list(const json& config, const char* key, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) throw InputError(where + ": missing required key '" + std::string(key) + "'");
  std::vector<std::string> out;
  if (!it->is_array()) wrong_type(*it, key, "a list of strings", where);
  for (const auto& item : *it) {
    if (!item.is_string()) wrong_type(*it, key, "a list of strings", where);
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<int> token_ids(const json& value, const char* key, const std::string& where) {
  const char* expected = "an integer or a list of integers";
  std::vector<int> out;
  if (value.is_array()) {
    for (const auto& item : value) {
      if (!item.is_number()) wrong_type(value, key, expected, where);
      out.push_back(as_int(item, key, where));
    }
  } else if (value.is_number()) {
    out.push_back(as_int(value, key, where));
  } else {
    wrong_type(value, key, expected, where);
  }
  return out;
}

}  // namespace

ModelConfig parse_hf_config_text(const std::string& text, const std::string& where) {
  json config;
  try {
    config = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(where + ": not valid JSON: " + json_error_detail(e));
  }
  if (!config.is_object()) throw InputError(where + ": not a JSON object");

  const auto architectures = string_list(config, "architectures", where);
  if (architectures.empty()) throw InputError(where + ": 'architectures' is empty");
  ModelConfig out;
  out.architecture = architectures.front();
  if (!supported_architectures().count(out.architecture)) {
    std::string list;
    for (const auto& name : supported_architectures()) list += (list.empty() ? "" : ", ") + name;
    throw InputError(where + ": unknown architecture '" + out.architecture +
                     "' (kvsim capture supports " + list + ")");
  }
  const std::string act = optional<std::string>(config, "hidden_act", "silu", where);
  if (act != "silu") throw InputError(where + ": hidden_act '" + act + "' is not supported (only silu / SwiGLU)");

  out.hidden_size = required<int>(config, "hidden_size", where);
  out.intermediate_size = required<int>(config, "intermediate_size", where);
  out.n_layers = required<int>(config, "num_hidden_layers", where);
  out.n_heads = required<int>(config, "num_attention_heads", where);
  out.n_kv_heads = optional<int>(config, "num_key_value_heads", out.n_heads, where);
  out.vocab_size = required<int>(config, "vocab_size", where);
  if (config.contains("head_dim") && !config["head_dim"].is_null()) {
    out.head_dim = required<int>(config, "head_dim", where);
  } else if (out.n_heads > 0) {
    // Integer division would silently drop the remainder.
    if (out.hidden_size % out.n_heads != 0)
      throw InputError(where + ": hidden_size (" + std::to_string(out.hidden_size) +
                       ") is not divisible by num_attention_heads (" + std::to_string(out.n_heads) +
                       ") and head_dim is not given");
    out.head_dim = out.hidden_size / out.n_heads;
  }
  out.max_position_embeddings = optional<int>(config, "max_position_embeddings", 0, where);
  out.rms_norm_eps = required<double>(config, "rms_norm_eps", where);
  out.rope_theta = optional<double>(config, "rope_theta", 10000.0, where);
  out.rope_scaling = parse_rope_scaling(config, where);
  out.rope_pairing = RopePairing::rotate_half;  // every HF Llama-family checkpoint
  out.tie_word_embeddings = optional<bool>(config, "tie_word_embeddings", false, where);
  if (out.architecture == "Qwen2ForCausalLM") {
    out.qkv_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias
  } else if (out.architecture == "Qwen3ForCausalLM") {
    // Qwen3: no q/k/v biases unless attention_bias; an RMSNorm over each head
    // of q and of k (q_norm, k_norm: [head_dim]) before RoPE
    const bool attention_bias = optional<bool>(config, "attention_bias", false, where);
    out.qkv_bias = out.o_bias = attention_bias;
    out.qk_norm = true;
  } else {
    const bool attention_bias = optional<bool>(config, "attention_bias", false, where);
    out.qkv_bias = out.o_bias = attention_bias;
    out.mlp_bias = optional<bool>(config, "mlp_bias", false, where);
  }
  out.bos_token_id = optional<int>(config, "bos_token_id", -1, where);
  if (auto it = config.find("eos_token_id"); it != config.end() && !it->is_null())
    out.eos_token_ids = token_ids(*it, "eos_token_id", where);
  out.validate(where);
  return out;
}

ModelConfig parse_hf_config(const std::string& config_json_path) {
  if (path_status(config_json_path).kind == PathKind::missing)
    throw InputError(config_json_path + ": cannot open (an HF model directory needs config.json)");
  require_regular_file(config_json_path);
  std::ifstream in(config_json_path);
  if (!in) throw InputError(config_json_path + ": cannot open (an HF model directory needs config.json)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_hf_config_text(text.str(), config_json_path);
}

}  // namespace kvsim
