#include "io/model/hf_loader.hpp"

#include <algorithm>
#include <filesystem>

#include "io/errors.hpp"
#include "io/model/hf_config.hpp"
#include "io/model/safetensors_checkpoint.hpp"

namespace kvsim {

namespace fs = std::filesystem;

namespace {

// 1 + the highest <i> of the "model.layers.<i>." tensors (0 when none).
int layers_in_checkpoint(const SafetensorsCheckpoint& ckpt) {
  const std::string prefix = "model.layers.";
  int count = 0;
  for (const auto& name : ckpt.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::size_t dot = name.find('.', prefix.size());
    const std::string index = name.substr(prefix.size(), dot - prefix.size());
    if (index.empty() || index.size() > 6 || index.find_first_not_of("0123456789") != std::string::npos) continue;
    count = std::max(count, std::stoi(index) + 1);
  }
  return count;
}

// The config's layer count must be the checkpoint's: running fewer layers
// than the checkpoint has records a different model with no error.
void check_layer_count(ModelConfig& c, int present, int max_layers, const std::string& directory) {
  const std::string config = (fs::path(directory) / "config.json").string();
  const std::string declared = "num_hidden_layers = " + std::to_string(c.n_layers);
  const std::string holds = std::to_string(present) + " layers (model.layers.0 ... model.layers." +
                            std::to_string(present - 1) + ")";
  if (max_layers > 0) {
    if (max_layers > std::min(c.n_layers, present))
      throw InputError(config + ": --max-layers " + std::to_string(max_layers) + " exceeds the model (" + declared +
                       ", the checkpoint holds " + holds + ")");
    c.n_layers = max_layers;
    return;
  }
  if (present > c.n_layers)
    throw InputError(config + ": " + declared + " but the checkpoint holds " + holds + "; fix config.json, or pass "
                     "--max-layers " + std::to_string(c.n_layers) + " to capture a truncated model on purpose");
  if (present < c.n_layers)
    throw InputError(config + ": " + declared + " but the checkpoint holds only " +
                     (present == 0 ? std::string("0 layers") : holds) + " (incomplete download?)");
}

}  // namespace

LoadedModel load_hf_model(const std::string& directory, int max_layers) {
  LoadedModel model;
  model.format = "hf-safetensors";
  model.config = parse_hf_config((fs::path(directory) / "config.json").string());
  model.name = fs::path(directory).lexically_normal().filename().string();
  if (model.name.empty()) model.name = fs::path(directory).lexically_normal().parent_path().filename().string();
  model.storage = std::make_shared<WeightStorage>();

  const ModelConfig& c = model.config;
  const SafetensorsCheckpoint ckpt(directory);
  ckpt.retain_in(*model.storage);
  model.checkpoint_layers = layers_in_checkpoint(ckpt);
  check_layer_count(model.config, model.checkpoint_layers, max_layers, directory);
  WeightStorage& store = *model.storage;
  const std::int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const std::int64_t QD = c.q_dim(), KD = c.kv_dim();

  // Tied checkpoints often store only one of the two names (tinystories-656k
  // keeps lm_head.weight and aliases the embedding to it in the metadata).
  const bool has_embed = ckpt.has("model.embed_tokens.weight");
  const bool has_head = ckpt.has("lm_head.weight");
  if (!has_embed && !(c.tie_word_embeddings && has_head))
    ckpt.tensor("model.embed_tokens.weight");  // throws "missing"
  model.weights.token_embedding =
      ckpt.matrix(has_embed ? "model.embed_tokens.weight" : "lm_head.weight", {V, D}, store);
  if (has_head && !c.tie_word_embeddings) {
    model.weights.lm_head = ckpt.matrix("lm_head.weight", {V, D}, store);
  } else if (c.tie_word_embeddings) {
    model.weights.lm_head = model.weights.token_embedding;
  } else {
    ckpt.tensor("lm_head.weight");  // untied but absent: throws "missing"
  }
  model.weights.final_norm = ckpt.f32("model.norm.weight", {D}, store);

  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights w;
    w.attn_norm = ckpt.f32(p + "input_layernorm.weight", {D}, store);
    w.wq = ckpt.matrix(p + "self_attn.q_proj.weight", {QD, D}, store);
    w.wk = ckpt.matrix(p + "self_attn.k_proj.weight", {KD, D}, store);
    w.wv = ckpt.matrix(p + "self_attn.v_proj.weight", {KD, D}, store);
    w.wo = ckpt.matrix(p + "self_attn.o_proj.weight", {D, QD}, store);
    if (c.qkv_bias) {
      w.bq = ckpt.f32(p + "self_attn.q_proj.bias", {QD}, store);
      w.bk = ckpt.f32(p + "self_attn.k_proj.bias", {KD}, store);
      w.bv = ckpt.f32(p + "self_attn.v_proj.bias", {KD}, store);
    }
    if (c.o_bias) w.bo = ckpt.f32(p + "self_attn.o_proj.bias", {D}, store);
    if (c.qk_norm) {
      w.q_norm = ckpt.f32(p + "self_attn.q_norm.weight", {c.head_dim}, store);
      w.k_norm = ckpt.f32(p + "self_attn.k_norm.weight", {c.head_dim}, store);
    }
    w.ffn_norm = ckpt.f32(p + "post_attention_layernorm.weight", {D}, store);
    w.w_gate = ckpt.matrix(p + "mlp.gate_proj.weight", {F, D}, store);
    w.w_up = ckpt.matrix(p + "mlp.up_proj.weight", {F, D}, store);
    w.w_down = ckpt.matrix(p + "mlp.down_proj.weight", {D, F}, store);
    if (c.mlp_bias) {
      w.b_gate = ckpt.f32(p + "mlp.gate_proj.bias", {F}, store);
      w.b_up = ckpt.f32(p + "mlp.up_proj.bias", {F}, store);
      w.b_down = ckpt.f32(p + "mlp.down_proj.bias", {D}, store);
    }
    model.weights.layers.push_back(w);
  }
  return model;
}

}  // namespace kvsim
