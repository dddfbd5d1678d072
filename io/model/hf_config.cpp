#include "io/model/hf_config.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/errors.hpp"
#include "io/regular_file.hpp"

namespace kvsim {

namespace {

using nlohmann::json;

const std::set<std::string>& supported_architectures() {
  static const std::set<std::string> names = {"LlamaForCausalLM", "MistralForCausalLM",
                                              "Qwen2ForCausalLM"};
  return names;
}

template <typename T>
T required(const json& config, const char* key, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null())
    throw InputError(where + ": missing required key '" + std::string(key) + "'");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw InputError(where + ": key '" + std::string(key) + "' has the wrong type (" + it->dump() + ")");
  }
}

template <typename T>
T optional(const json& config, const char* key, T fallback, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw InputError(where + ": key '" + std::string(key) + "' has the wrong type (" + it->dump() + ")");
  }
}

RopeScaling parse_rope_scaling(const json& config, const std::string& where) {
  RopeScaling scaling;
  auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return scaling;
  const json& rs = *it;
  std::string type = rs.contains("rope_type") ? rs["rope_type"].get<std::string>()
                                              : optional<std::string>(rs, "type", "default", where);
  if (type == "default") return scaling;
  if (type != "linear" && type != "llama3") {
    throw InputError(where + ": rope_scaling type '" + type +
                     "' is not supported (supported: default, linear, llama3)");
  }
  scaling.type = type;
  scaling.factor = required<double>(rs, "factor", where + " rope_scaling");
  if (type == "llama3") {
    scaling.low_freq_factor = required<double>(rs, "low_freq_factor", where + " rope_scaling");
    scaling.high_freq_factor = required<double>(rs, "high_freq_factor", where + " rope_scaling");
    scaling.original_max_position_embeddings =
        required<double>(rs, "original_max_position_embeddings", where + " rope_scaling");
  }
  return scaling;
}

}  // namespace

ModelConfig parse_hf_config_text(const std::string& text, const std::string& where) {
  json config;
  try {
    config = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(where + ": not valid JSON: " + e.what());
  }
  if (!config.is_object()) throw InputError(where + ": not a JSON object");

  const auto architectures = required<std::vector<std::string>>(config, "architectures", where);
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
  out.head_dim = optional<int>(config, "head_dim", out.n_heads > 0 ? out.hidden_size / out.n_heads : 0, where);
  out.max_position_embeddings = optional<int>(config, "max_position_embeddings", 0, where);
  out.rms_norm_eps = required<double>(config, "rms_norm_eps", where);
  out.rope_theta = optional<double>(config, "rope_theta", 10000.0, where);
  out.rope_scaling = parse_rope_scaling(config, where);
  out.rope_pairing = RopePairing::rotate_half;  // every HF Llama-family checkpoint
  out.tie_word_embeddings = optional<bool>(config, "tie_word_embeddings", false, where);
  if (out.architecture == "Qwen2ForCausalLM") {
    out.qkv_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias
  } else {
    const bool attention_bias = optional<bool>(config, "attention_bias", false, where);
    out.qkv_bias = out.o_bias = attention_bias;
    out.mlp_bias = optional<bool>(config, "mlp_bias", false, where);
  }
  out.bos_token_id = optional<int>(config, "bos_token_id", -1, where);
  if (auto it = config.find("eos_token_id"); it != config.end() && !it->is_null()) {
    if (it->is_array()) out.eos_token_ids = it->get<std::vector<int>>();
    else out.eos_token_ids = {it->get<int>()};
  }
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
