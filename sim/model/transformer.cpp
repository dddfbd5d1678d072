#include "sim/model/transformer.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "io/errors.hpp"

namespace kvsim {

namespace {

// y[n, out] = x[n, in] · W[out, in]^T (+ bias): an HF nn.Linear on n rows.
void linear(const float* x, int n, int in, const float* weight, int out, const float* bias, float* y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, weight, in, 0.0f, y, out);
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

// out[n, H*d] = causal softmax(s · q k^T) v for the n newest positions, over
// every cached key up to each query's own position. Work items are (head,
// block of query rows); each owns its slice of `out`, so no synchronisation.
void Transformer::attention(int layer, int n, const float* q, float* out) const {
  const int H = config_.n_heads, d = config_.head_dim, group = config_.n_heads / config_.n_kv_heads;
  const int q_stride = config_.q_dim(), kv_stride = config_.kv_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int blocks = (n + kQueryBlock - 1) / kQueryBlock;
  const float* keys = k_cache_[layer].data();
  const float* values = v_cache_[layer].data();
  const int first = position_;

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
          mask_.kept.empty() ? nullptr : &mask_.kept.at(layer).at(g);  // the compressed cache of this KV head
      for (int r = 0; r < rows; ++r) {
        float* row = scores.data() + static_cast<std::size_t>(r) * n_keys;
        const int visible = first + row0 + r + 1;  // causal: keys [0, own position]
        if (kept && first + row0 + r >= mask_.context_len)
          for (int j = 0; j < mask_.context_len; ++j)
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
  const int D = config_.hidden_size, F = config_.intermediate_size, QD = config_.q_dim(), KD = config_.kv_dim();
  const std::size_t N = static_cast<std::size_t>(n);

  std::vector<float> x(N * D), residual_in, xn(N * D), q(N * QD), k(N * KD), v(N * KD), attn(N * QD), proj(N * D);
  std::vector<float> q_pre, k_pre, gate(N * F), up(N * F);
  for (int r = 0; r < n; ++r) {
    if (tokens[r] < 0 || tokens[r] >= config_.vocab_size)
      throw InputError("token id " + std::to_string(tokens[r]) + " is outside the vocabulary [0, " +
                       std::to_string(config_.vocab_size) + ")");
    std::memcpy(&x[r * static_cast<std::size_t>(D)], weights_.token_embedding + static_cast<std::size_t>(tokens[r]) * D,
                D * sizeof(float));
  }

  for (int l = 0; l < config_.n_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    if (observer) residual_in = x;
    rms_norm(x.data(), n, D, w.attn_norm, config_.rms_norm_eps, xn.data());
    linear(xn.data(), n, D, w.wq, QD, w.bq, q.data());
    linear(xn.data(), n, D, w.wk, KD, w.bk, k.data());
    linear(xn.data(), n, D, w.wv, KD, w.bv, v.data());
    if (w.q_norm) {  // Qwen3: each head of q and k RMS-normalised (eps of the model) before RoPE
      rms_norm(q.data(), n * config_.n_heads, config_.head_dim, w.q_norm, config_.rms_norm_eps, q.data());
      rms_norm(k.data(), n * config_.n_kv_heads, config_.head_dim, w.k_norm, config_.rms_norm_eps, k.data());
    }
    if (observer) {
      q_pre = q;
      k_pre = k;
    }
    for (int r = 0; r < n; ++r) {
      rope_.apply(&q[r * static_cast<std::size_t>(QD)], config_.n_heads, position_ + r);
      rope_.apply(&k[r * static_cast<std::size_t>(KD)], config_.n_kv_heads, position_ + r);
    }
    std::memcpy(&k_cache_[l][static_cast<std::size_t>(position_) * KD], k.data(), N * KD * sizeof(float));
    std::memcpy(&v_cache_[l][static_cast<std::size_t>(position_) * KD], v.data(), N * KD * sizeof(float));
    attention(l, n, q.data(), attn.data());
    if (observer) {
      LayerActivations a;
      a.first_position = position_;
      a.n_tokens = n;
      a.residual_in = residual_in.data();
      a.attn_norm_out = xn.data();
      a.q_pre_rope = q_pre.data();
      a.k_pre_rope = k_pre.data();
      a.q = q.data();
      a.k = k.data();
      a.v = v.data();
      a.attn_out = attn.data();
      observer->on_layer(l, a);
    }
    linear(attn.data(), n, QD, w.wo, D, w.bo, proj.data());
    for (std::size_t i = 0; i < N * D; ++i) x[i] += proj[i];

    // SwiGLU MLP: down(silu(gate(x)) * up(x))
    rms_norm(x.data(), n, D, w.ffn_norm, config_.rms_norm_eps, xn.data());
    linear(xn.data(), n, D, w.w_gate, F, w.b_gate, gate.data());
    linear(xn.data(), n, D, w.w_up, F, w.b_up, up.data());
    const std::ptrdiff_t total = static_cast<std::ptrdiff_t>(N * F);
#pragma omp parallel for schedule(static) if (total > 65536)
    for (std::ptrdiff_t i = 0; i < total; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    linear(gate.data(), n, F, w.w_down, D, w.b_down, proj.data());
    for (std::size_t i = 0; i < N * D; ++i) x[i] += proj[i];
  }

  if (all_logits) {
    std::vector<float> normed(N * D);
    rms_norm(x.data(), n, D, weights_.final_norm, config_.rms_norm_eps, normed.data());
    all_logits->assign(N * config_.vocab_size, 0.f);
    linear(normed.data(), n, D, weights_.lm_head, config_.vocab_size, nullptr, all_logits->data());
  }
  // Logits of the last token only: that is all greedy decoding needs.
  std::vector<float> last(D), logits(config_.vocab_size);
  rms_norm(&x[(N - 1) * D], 1, D, weights_.final_norm, config_.rms_norm_eps, last.data());
  cblas_sgemv(CblasRowMajor, CblasNoTrans, config_.vocab_size, D, 1.0f, weights_.lm_head, D, last.data(), 1, 0.0f,
              logits.data(), 1);
  position_ += n;
  return logits;
}

}  // namespace kvsim
