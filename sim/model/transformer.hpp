#pragma once
// Reference fp32 forward pass of a Llama-family decoder on CPU: RMSNorm,
// RoPE (either pairing), grouped-query attention with a KV cache, SwiGLU MLP.
// Matrix products go through BLAS (cblas_sgemm); attention heads run in
// parallel with OpenMP. A ForwardObserver sees every layer's activations,
// which is how captures record q/k/v and tests compare against goldens.
#include <vector>

#include "io/model/model_weights.hpp"
#include "sim/model/rope.hpp"

namespace kvsim {

// Row-major views, one row per token of the current forward() call.
struct LayerActivations {
  int first_position = 0;  // position of row 0
  int n_tokens = 0;
  const float* residual_in = nullptr;  // [n, D] hidden state entering the layer
  const float* attn_norm_out = nullptr;  // [n, D] input of Wq/Wk/Wv
  const float* q_pre_rope = nullptr;   // [n, H*d]
  const float* k_pre_rope = nullptr;   // [n, G*d]
  const float* q = nullptr;            // [n, H*d] post-RoPE
  const float* k = nullptr;            // [n, G*d] post-RoPE (what the KV cache stores)
  const float* v = nullptr;            // [n, G*d]
  const float* attn_out = nullptr;     // [n, H*d] attention output before o_proj
};

class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  virtual void on_layer(int layer, const LayerActivations& activations) = 0;
};

// A compressed KV cache, for queries at positions >= context_len: per layer
// and KV head, the context positions its cache kept (the other context keys
// are gone); keys at positions >= context_len are always there. Positions
// keep their RoPE rotation (kvpress compresses the same way).
struct ContextMask {
  int context_len = 0;
  std::vector<std::vector<std::vector<char>>> kept;  // [layer][kv head][position < context_len]
};

class Transformer {
 public:
  // `max_tokens`: KV cache capacity (prompt + generated tokens).
  Transformer(const LoadedModel& model, int max_tokens);

  // Feeds `tokens` at positions [position(), position() + n), appends their
  // keys/values to the cache and returns the logits of the last one [V].
  // `all_logits` (optional) receives every row's logits [n, V].
  std::vector<float> forward(const std::vector<int>& tokens, ForwardObserver* observer = nullptr,
                             std::vector<float>* all_logits = nullptr);

  // From now on, queries at positions >= mask.context_len see only the kept
  // context keys (a cache compressed after the context's prefill). A mask
  // that keeps every key changes no bit of any result.
  void set_context_mask(ContextMask mask);

  int position() const { return position_; }
  const ModelConfig& config() const { return config_; }

 private:
  const ModelConfig& config_;
  const ModelWeights& weights_;
  Rope rope_;
  int max_tokens_;
  int position_ = 0;
  std::vector<std::vector<float>> k_cache_, v_cache_;  // per layer [max_tokens, G*d]
  ContextMask mask_;  // empty kept: no mask
};

int argmax(const std::vector<float>& logits);  // first maximum, as torch.argmax

// `tokens` at positions 0 .. n-1 through the model one layer at a time, all
// rows of a layer before the next, holding one layer's keys and values: what
// a capture records without a KV cache that grows with depth. The observer
// sees each layer's activations (the same bits as Transformer::forward on all
// n tokens at once) and may write them out before the next layer runs.
void forward_layer_by_layer(const LoadedModel& model, const std::vector<int>& tokens, ForwardObserver& observer);

}  // namespace kvsim
