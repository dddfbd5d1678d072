#include "sim/model/transformer.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "io/errors.hpp"

namespace kvsim {

namespace {

// A 16-bit weight is widened this many floats at a time (64 MiB): bounded
// scratch, and each block's GEMM still large enough to run at sgemm speed.
constexpr std::size_t kWidenBlockFloats = std::size_t(16) << 20;

// Calls product(rows, first_row, block) for consecutive row blocks of a
// [out, in] 16-bit weight, `block` being its widened float32 rows.
template <typename Product>
void for_widened_blocks(const WeightMatrix& weight, int in, int out, Product product) {
  const int block_rows = static_cast<int>(std::clamp<std::size_t>(kWidenBlockFloats / in, 1, out));
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<std::size_t>(block_rows) * in);
  for (int first = 0; first < out; first += block_rows) {
    const int rows = std::min(block_rows, out - first);
    weight.widen_rows(first, rows, in, scratch.data());
    product(rows, first, scratch.data());
  }
}

// y[n, out] = x[n, in] · W[out, in]^T (+ bias): an HF nn.Linear on n rows.
void linear(const float* x, int n, int in, const WeightMatrix& weight, int out, const float* bias, float* y) {
  if (const float* w = weight.as_f32()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  } else {
    for_widened_blocks(weight, in, out, [&](int rows, int first, const float* block) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, rows, in, 1.0f, x, in, block, in, 0.0f, y + first, out);
    });
  }
  if (bias) {
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < out; ++c) y[static_cast<std::size_t>(r) * out + c] += bias[c];
  }
}

void rms_norm(const float* x, int n, int dim, const float* weight, double eps, float* y) {
#pragma omp parallel for schedule(static) if (n > 16)
  for (int r = 0; r < n; ++r) {
    const float* row = x + static_cast<std::size_t>(r) * dim;
    double sum_sq = 0;
    for (int i = 0; i < dim; ++i) sum_sq += static_cast<double>(row[i]) * row[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / dim + eps));
    float* out = y + static_cast<std::size_t>(r) * dim;
    for (int i = 0; i < dim; ++i) out[i] = row[i] * inv * weight[i];
  }
}

constexpr int kQueryBlock = 128;  // query rows per attention work item (bounds score memory)

}  // namespace

int argmax(const std::vector<float>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Transformer::Transformer(const LoadedModel& model, int max_tokens)
    : config_(model.config), weights_(model.weights), rope_(model.config), max_tokens_(max_tokens) {
  if (max_tokens <= 0) throw InputError("capture needs at least one token");
  const std::size_t cache = static_cast<std::size_t>(max_tokens) * config_.kv_dim();
  k_cache_.assign(config_.n_layers, std::vector<float>(cache));
  v_cache_.assign(config_.n_layers, std::vector<float>(cache));
}

namespace {

// out[n, H*d] = causal softmax(s · q k^T) v for the n rows at positions
// [first, first + n), over every cached key up to each query's own position
// (`keys`/`values`: this layer's cache, [first + n, G*d] at least). Work items
// are (head, block of query rows); each owns its slice of `out`, so no
// synchronisation. `mask` (may be null): the compressed cache of this layer.
void attend(const ModelConfig& config, const float* keys, const float* values, int first, int n, const float* q,
            float* out, const ContextMask* mask, int layer) {
  const int H = config.n_heads, d = config.head_dim, group = config.n_heads / config.n_kv_heads;
  const int q_stride = config.q_dim(), kv_stride = config.kv_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int blocks = (n + kQueryBlock - 1) / kQueryBlock;

#pragma omp parallel
  {
    std::vector<float> scores;
#pragma omp for schedule(dynamic)
    for (int item = 0; item < H * blocks; ++item) {
      const int h = item / blocks, g = h / group;
      const int row0 = (item % blocks) * kQueryBlock, rows = std::min(kQueryBlock, n - row0);
      const int n_keys = first + row0 + rows;  // keys visible to the block's last row
      scores.resize(static_cast<std::size_t>(rows) * n_keys);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_keys, d, scale,
                  q + static_cast<std::size_t>(row0) * q_stride + h * d, q_stride, keys + g * d, kv_stride, 0.0f,
                  scores.data(), n_keys);
      const std::vector<char>* kept =
          mask && !mask->kept.empty() ? &mask->kept.at(layer).at(g) : nullptr;  // the compressed cache of this KV head
      for (int r = 0; r < rows; ++r) {
        float* row = scores.data() + static_cast<std::size_t>(r) * n_keys;
        const int visible = first + row0 + r + 1;  // causal: keys [0, own position]
        if (kept && first + row0 + r >= mask->context_len)
          for (int j = 0; j < mask->context_len; ++j)
            if (!(*kept)[j]) row[j] = -std::numeric_limits<float>::infinity();
        const float max = *std::max_element(row, row + visible);
        double sum = 0;
        for (int j = 0; j < visible; ++j) {
          row[j] = std::exp(row[j] - max);
          sum += row[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int j = 0; j < visible; ++j) row[j] *= inv;
        std::fill(row + visible, row + n_keys, 0.0f);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, n_keys, 1.0f, scores.data(), n_keys,
                  values + g * d, kv_stride, 0.0f, out + static_cast<std::size_t>(row0) * q_stride + h * d, q_stride);
    }
  }
}

// The buffers of one layer's pass over n rows, reused from layer to layer.
struct LayerScratch {
  std::vector<float> residual_in, xn, q, k, v, attn, proj, q_pre, k_pre, gate, up;
  void size_for(const ModelConfig& c, int n) {
    const std::size_t N = n;
    xn.resize(N * c.hidden_size);
    q.resize(N * c.q_dim());
    k.resize(N * c.kv_dim());
    v.resize(N * c.kv_dim());
    attn.resize(N * c.q_dim());
    proj.resize(N * c.hidden_size);
    gate.resize(N * c.intermediate_size);
    up.resize(N * c.intermediate_size);
  }
};

// One decoder layer over the n rows of `x` (positions [first, first + n)),
// in place; their keys and values go to `k_cache`/`v_cache` at `first`.
void run_layer(const ModelConfig& config, const LayerWeights& w, const Rope& rope, int l, float* x, int n, int first,
               float* k_cache, float* v_cache, const ContextMask* mask, ForwardObserver* observer, LayerScratch& s) {
  const int D = config.hidden_size, F = config.intermediate_size, QD = config.q_dim(), KD = config.kv_dim();
  const std::size_t N = static_cast<std::size_t>(n);
  s.size_for(config, n);
  if (observer) s.residual_in.assign(x, x + N * D);
  rms_norm(x, n, D, w.attn_norm, config.rms_norm_eps, s.xn.data());
  linear(s.xn.data(), n, D, w.wq, QD, w.bq, s.q.data());
  linear(s.xn.data(), n, D, w.wk, KD, w.bk, s.k.data());
  linear(s.xn.data(), n, D, w.wv, KD, w.bv, s.v.data());
  if (w.q_norm) {  // Qwen3: each head of q and k RMS-normalised (eps of the model) before RoPE
    rms_norm(s.q.data(), n * config.n_heads, config.head_dim, w.q_norm, config.rms_norm_eps, s.q.data());
    rms_norm(s.k.data(), n * config.n_kv_heads, config.head_dim, w.k_norm, config.rms_norm_eps, s.k.data());
  }
  if (observer) {
    s.q_pre = s.q;
    s.k_pre = s.k;
  }
  for (int r = 0; r < n; ++r) {
    rope.apply(&s.q[r * static_cast<std::size_t>(QD)], config.n_heads, first + r);
    rope.apply(&s.k[r * static_cast<std::size_t>(KD)], config.n_kv_heads, first + r);
  }
  std::memcpy(k_cache + static_cast<std::size_t>(first) * KD, s.k.data(), N * KD * sizeof(float));
  std::memcpy(v_cache + static_cast<std::size_t>(first) * KD, s.v.data(), N * KD * sizeof(float));
  attend(config, k_cache, v_cache, first, n, s.q.data(), s.attn.data(), mask, l);
  if (observer) {
    LayerActivations a;
    a.first_position = first;
    a.n_tokens = n;
    a.residual_in = s.residual_in.data();
    a.attn_norm_out = s.xn.data();
    a.q_pre_rope = s.q_pre.data();
    a.k_pre_rope = s.k_pre.data();
    a.q = s.q.data();
    a.k = s.k.data();
    a.v = s.v.data();
    a.attn_out = s.attn.data();
    observer->on_layer(l, a);
  }
  linear(s.attn.data(), n, QD, w.wo, D, w.bo, s.proj.data());
  for (std::size_t i = 0; i < N * D; ++i) x[i] += s.proj[i];

  // SwiGLU MLP: down(silu(gate(x)) * up(x))
  rms_norm(x, n, D, w.ffn_norm, config.rms_norm_eps, s.xn.data());
  linear(s.xn.data(), n, D, w.w_gate, F, w.b_gate, s.gate.data());
  linear(s.xn.data(), n, D, w.w_up, F, w.b_up, s.up.data());
  const std::ptrdiff_t total = static_cast<std::ptrdiff_t>(N * F);
#pragma omp parallel for schedule(static) if (total > 65536)
  for (std::ptrdiff_t i = 0; i < total; ++i) s.gate[i] = s.gate[i] / (1.0f + std::exp(-s.gate[i])) * s.up[i];
  linear(s.gate.data(), n, F, w.w_down, D, w.b_down, s.proj.data());
  for (std::size_t i = 0; i < N * D; ++i) x[i] += s.proj[i];
}

// x[n, D] = the token embeddings (InputError for an id outside the vocabulary).
std::vector<float> embed(const ModelConfig& config, const ModelWeights& weights, const std::vector<int>& tokens) {
  const int D = config.hidden_size;
  std::vector<float> x(tokens.size() * static_cast<std::size_t>(D));
  for (std::size_t r = 0; r < tokens.size(); ++r) {
    if (tokens[r] < 0 || tokens[r] >= config.vocab_size)
      throw InputError("token id " + std::to_string(tokens[r]) + " is outside the vocabulary [0, " +
                       std::to_string(config.vocab_size) + ")");
    weights.token_embedding.widen_rows(static_cast<std::size_t>(tokens[r]), 1, D, &x[r * static_cast<std::size_t>(D)]);
  }
  return x;
}

}  // namespace

void Transformer::set_context_mask(ContextMask mask) {
  if (static_cast<int>(mask.kept.size()) != config_.n_layers)
    throw std::logic_error("context mask for " + std::to_string(mask.kept.size()) + " layers, the model has " +
                           std::to_string(config_.n_layers));
  for (const auto& layer : mask.kept) {
    if (static_cast<int>(layer.size()) != config_.n_kv_heads) throw std::logic_error("context mask: KV heads");
    for (const auto& head : layer)
      if (static_cast<int>(head.size()) != mask.context_len) throw std::logic_error("context mask: positions");
  }
  mask_ = std::move(mask);
}

std::vector<float> Transformer::forward(const std::vector<int>& tokens, ForwardObserver* observer,
                                        std::vector<float>* all_logits) {
  const int n = static_cast<int>(tokens.size());
  if (n == 0) throw InputError("forward pass needs at least one token");
  if (position_ + n > max_tokens_) {
    throw InputError("KV cache holds " + std::to_string(max_tokens_) + " tokens; cannot add " + std::to_string(n) +
                     " at position " + std::to_string(position_));
  }
  const int D = config_.hidden_size;
  const std::size_t N = static_cast<std::size_t>(n);
  std::vector<float> x = embed(config_, weights_, tokens);
  LayerScratch scratch;
  for (int l = 0; l < config_.n_layers; ++l)
    run_layer(config_, weights_.layers[l], rope_, l, x.data(), n, position_, k_cache_[l].data(), v_cache_[l].data(),
              &mask_, observer, scratch);

  if (all_logits) {
    std::vector<float> normed(N * D);
    rms_norm(x.data(), n, D, weights_.final_norm, config_.rms_norm_eps, normed.data());
    all_logits->assign(N * config_.vocab_size, 0.f);
    linear(normed.data(), n, D, weights_.lm_head, config_.vocab_size, nullptr, all_logits->data());
  }
  // Logits of the last token only: that is all greedy decoding needs.
  std::vector<float> last(D), logits(config_.vocab_size);
  rms_norm(&x[(N - 1) * D], 1, D, weights_.final_norm, config_.rms_norm_eps, last.data());
  if (const float* head = weights_.lm_head.as_f32()) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, config_.vocab_size, D, 1.0f, head, D, last.data(), 1, 0.0f,
                logits.data(), 1);
  } else {
    for_widened_blocks(weights_.lm_head, D, config_.vocab_size, [&](int rows, int first, const float* block) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, D, 1.0f, block, D, last.data(), 1, 0.0f, logits.data() + first, 1);
    });
  }
  position_ += n;
  return logits;
}

void forward_layer_by_layer(const LoadedModel& model, const std::vector<int>& tokens, ForwardObserver& observer) {
  const ModelConfig& config = model.config;
  const int n = static_cast<int>(tokens.size());
  if (n == 0) throw InputError("forward pass needs at least one token");
  const Rope rope(config);
  std::vector<float> x = embed(config, model.weights, tokens);
  // one layer's keys and values, reused by every layer: nothing grows with depth
  const std::size_t cache = static_cast<std::size_t>(n) * config.kv_dim();
  std::vector<float> k_cache(cache), v_cache(cache);
  LayerScratch scratch;
  for (int l = 0; l < config.n_layers; ++l)
    run_layer(config, model.weights.layers[l], rope, l, x.data(), n, 0, k_cache.data(), v_cache.data(), nullptr,
              &observer, scratch);
}

}  // namespace kvsim
