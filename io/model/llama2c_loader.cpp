#include "io/model/llama2c_loader.hpp"

#include <type_traits>

#include <cstdint>
#include <cstring>
#include <filesystem>

#include "io/errors.hpp"
#include "io/finite_values.hpp"
#include "io/model/mapped_file.hpp"

namespace kvsim {

namespace {

// A NaN/Inf weight makes every activation after it NaN: refused at load time.
const float* checked_finite(const float* values, std::size_t n, const std::string& what, const std::string& bin_path) {
  const std::size_t at = first_nonfinite(values, n);
  if (at != n)
    throw InputError(bin_path + ": " + what + " has a non-finite value (" + nonfinite_name(values[at]) + ") at index " +
                     std::to_string(at));
  return values;
}

}  // namespace

LoadedModel load_llama2c_model(const std::string& bin_path, int max_layers) {
  auto map = std::make_shared<MappedFile>(bin_path);
  constexpr std::size_t header_bytes = 7 * sizeof(std::int32_t);
  if (map->size() < header_bytes) throw InputError(bin_path + ": truncated llama2.c checkpoint (no header)");
  std::int32_t h[7];
  std::memcpy(h, map->data(), header_bytes);
  if (h[0] == 0x616b3432) {  // "ak42": the versioned llama2.c export
    throw InputError(bin_path + ": llama2.c version-1/2 exports are not supported; export with the legacy (v0) format");
  }

  LoadedModel model;
  model.format = "llama2c";
  model.name = std::filesystem::path(bin_path).stem().string();
  ModelConfig& c = model.config;
  c.architecture = "llama2c";
  c.hidden_size = h[0];
  c.intermediate_size = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.tie_word_embeddings = h[5] > 0;
  c.vocab_size = h[5] < 0 ? -h[5] : h[5];
  c.max_position_embeddings = h[6];
  if (c.n_heads > 0 && c.hidden_size % c.n_heads != 0)
    throw InputError(bin_path + " header: dim (" + std::to_string(c.hidden_size) + ") is not divisible by n_heads (" +
                     std::to_string(c.n_heads) + ")");
  c.head_dim = c.n_heads > 0 ? c.hidden_size / c.n_heads : 0;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.rope_pairing = RopePairing::interleaved;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  c.validate(bin_path + " header");
  if (c.max_position_embeddings <= 0) throw InputError(bin_path + ": header seq_len must be positive");

  const std::size_t D = c.hidden_size, F = c.intermediate_size, L = c.n_layers, V = c.vocab_size;
  const std::size_t QD = c.q_dim(), KD = c.kv_dim(), hd = c.head_dim;
  const std::size_t seq = c.max_position_embeddings;
  std::size_t n_floats = V * D + L * D + L * D * QD + 2 * L * D * KD + L * QD * D + L * D + 3 * L * D * F +
                         D + seq * hd;  // freq_cis_real + freq_cis_imag: seq * hd/2 each
  if (!c.tie_word_embeddings) n_floats += V * D;
  const std::size_t expected = header_bytes + n_floats * sizeof(float);
  if (map->size() != expected) {
    throw InputError(bin_path + ": size " + std::to_string(map->size()) + " bytes does not match the header (" +
                     std::to_string(expected) + " bytes expected for dim=" + std::to_string(D) +
                     ", layers=" + std::to_string(L) + "): truncated or not a legacy llama2.c checkpoint");
  }

  // The 28-byte header keeps the float data 4-byte aligned inside the map.
  const float* cursor = reinterpret_cast<const float*>(map->data() + header_bytes);
  auto take = [&cursor](std::size_t n) {
    const float* p = cursor;
    cursor += n;
    return p;
  };
  ModelWeights& w = model.weights;
  w.layers.resize(L);
  w.token_embedding = f32_matrix(take(V * D));
  for (auto& lw : w.layers) lw.attn_norm = take(D);
  for (auto& lw : w.layers) lw.wq = f32_matrix(take(QD * D));
  for (auto& lw : w.layers) lw.wk = f32_matrix(take(KD * D));
  for (auto& lw : w.layers) lw.wv = f32_matrix(take(KD * D));
  for (auto& lw : w.layers) lw.wo = f32_matrix(take(D * QD));
  for (auto& lw : w.layers) lw.ffn_norm = take(D);
  for (auto& lw : w.layers) lw.w_gate = f32_matrix(take(F * D));  // w1
  for (auto& lw : w.layers) lw.w_down = f32_matrix(take(D * F));  // w2
  for (auto& lw : w.layers) lw.w_up = f32_matrix(take(F * D));    // w3
  w.final_norm = take(D);
  take(seq * hd);  // legacy freq_cis tables, unused (RoPE is computed)
  w.lm_head = c.tie_word_embeddings ? w.token_embedding : f32_matrix(take(V * D));

  model.checkpoint_layers = c.n_layers;
  if (max_layers > 0) {
    if (max_layers > c.n_layers)
      throw InputError(bin_path + ": --max-layers " + std::to_string(max_layers) + " exceeds the model's " +
                       std::to_string(c.n_layers) + " layers");
    c.n_layers = max_layers;
    w.layers.resize(static_cast<std::size_t>(max_layers));
  }
  auto check = [&](auto values, std::size_t n, const std::string& what) {
    if constexpr (std::is_same_v<decltype(values), WeightMatrix>) checked_finite(values.as_f32(), n, what, bin_path);
    else checked_finite(values, n, what, bin_path);
  };
  check(w.token_embedding, V * D, "token_embedding_table");
  check(w.final_norm, D, "rms_final_weight");
  if (!c.tie_word_embeddings) check(w.lm_head, V * D, "wcls");
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string layer = "layer " + std::to_string(l) + " ";
    check(lw.attn_norm, D, layer + "rms_att_weight");
    check(lw.wq, QD * D, layer + "wq");
    check(lw.wk, KD * D, layer + "wk");
    check(lw.wv, KD * D, layer + "wv");
    check(lw.wo, D * QD, layer + "wo");
    check(lw.ffn_norm, D, layer + "rms_ffn_weight");
    check(lw.w_gate, F * D, layer + "w1");
    check(lw.w_down, D * F, layer + "w2");
    check(lw.w_up, F * D, layer + "w3");
  }

  model.storage = std::make_shared<WeightStorage>();
  model.storage->keep_alive.push_back(map);
  return model;
}

}  // namespace kvsim
