#include "sim/model/capture.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "io/errors.hpp"
#include "io/finite_values.hpp"
#include "sim/model/transformer.hpp"

namespace kvsim {

namespace {

// Appends every forward() call's rows to the per-layer records.
class Recorder : public ForwardObserver {
 public:
  Recorder(const ModelConfig& config, CaptureResult& result, const std::function<void()>& checkpoint)
      : config_(config), result_(result), checkpoint_(checkpoint) {
    result_.layers.assign(config.n_layers, {});
  }
  void on_layer(int layer, const LayerActivations& a) override {
    auto& rec = result_.layers[layer];
    const std::size_t n = a.n_tokens, QD = config_.q_dim(), KD = config_.kv_dim(), D = config_.hidden_size;
    // Finite weights can still overflow float32 (inf, then NaN after the next
    // norm); a dump of such activations would be silently meaningless.
    reject_nonfinite(layer, "q", a.q, n, config_.n_heads, a.first_position);
    reject_nonfinite(layer, "k", a.k, n, config_.n_kv_heads, a.first_position);
    reject_nonfinite(layer, "v", a.v, n, config_.n_kv_heads, a.first_position);
    rec.q.insert(rec.q.end(), a.q, a.q + n * QD);
    rec.q_pre_rope.insert(rec.q_pre_rope.end(), a.q_pre_rope, a.q_pre_rope + n * QD);
    rec.k.insert(rec.k.end(), a.k, a.k + n * KD);
    rec.v.insert(rec.v.end(), a.v, a.v + n * KD);
    for (std::size_t r = 0; r < n; ++r) {
      double sum_sq = 0;
      for (std::size_t i = 0; i < D; ++i) sum_sq += static_cast<double>(a.residual_in[r * D + i]) * a.residual_in[r * D + i];
      rec.hidden_norm.push_back(static_cast<float>(std::sqrt(sum_sq)));
    }
    if (checkpoint_) checkpoint_();
  }

 private:
  // `rows` is token-major [n, heads * d], starting at position `first`.
  void reject_nonfinite(int layer, const char* name, const float* rows, std::size_t n, int heads, int first) const {
    const std::size_t d = static_cast<std::size_t>(config_.head_dim), width = heads * d;
    const std::size_t at = first_nonfinite(rows, n * width);
    if (at == n * width) return;
    throw InputError("capture: non-finite activation: layer " + std::to_string(layer) + " " + name + " is " +
                     nonfinite_name(rows[at]) + " at " + (std::string(name) == "q" ? "query" : "KV") + " head " +
                     std::to_string(at % width / d) + ", token " + std::to_string(first + at / width) + ", dim " +
                     std::to_string(at % d) + " (the model overflows float32 on this input); no dump was written");
  }

  const ModelConfig& config_;
  CaptureResult& result_;
  const std::function<void()>& checkpoint_;
};

// Token-major [T, heads*d] -> head-major [heads, T, d].
Tensor3 heads_first(const std::vector<float>& rows, int n_tokens, int heads, int d) {
  Tensor3 out = Tensor3::from_shape({static_cast<std::size_t>(heads), static_cast<std::size_t>(n_tokens),
                                     static_cast<std::size_t>(d)});
  float* dst = out.data();
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < n_tokens; ++t)
      std::copy_n(rows.data() + (static_cast<std::size_t>(t) * heads + h) * d, d,
                  dst + (static_cast<std::size_t>(h) * n_tokens + t) * d);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

CaptureResult run_capture(const LoadedModel& model, const CaptureRequest& request) {
  const ModelConfig& c = model.config;
  if (request.prompt_tokens.empty()) throw InputError("capture: the prompt has no tokens");
  if (request.generate < 0) throw UsageError("--generate must be >= 0");
  if (request.context_len < 1 || request.context_len > static_cast<int>(request.prompt_tokens.size())) {
    throw UsageError("context length " + std::to_string(request.context_len) + " must be in [1, " +
                     std::to_string(request.prompt_tokens.size()) + "] (the prompt's token count)");
  }
  const int max_tokens = static_cast<int>(request.prompt_tokens.size()) + request.generate;
  auto say = [&](const std::string& line) {
    if (request.progress) request.progress(line);
  };
  if (c.max_position_embeddings > 0 && max_tokens > c.max_position_embeddings) {
    say("warning: " + std::to_string(max_tokens) + " tokens exceed the model's max_position_embeddings (" +
        std::to_string(c.max_position_embeddings) + "); quality will degrade beyond it");
  }

  CaptureResult result;
  result.context_len = request.context_len;
  result.question_len = request.question_len;
  Recorder recorder(c, result, request.checkpoint);
  Transformer transformer(model, max_tokens);

  auto start = std::chrono::steady_clock::now();
  say("prefill: " + std::to_string(request.prompt_tokens.size()) + " tokens");
  std::vector<float> logits = transformer.forward(request.prompt_tokens, &recorder);
  result.prefill_seconds = seconds_since(start);
  result.tokens = request.prompt_tokens;

  start = std::chrono::steady_clock::now();
  for (int step = 0; step < request.generate; ++step) {
    const int next = argmax(logits);
    result.generated.push_back(next);
    result.tokens.push_back(next);
    // Feeding the token records its own q/k/v (its logits are unused when last).
    logits = transformer.forward({next}, &recorder);
    if ((step + 1) % 32 == 0 || step + 1 == request.generate)
      say("generate: " + std::to_string(step + 1) + "/" + std::to_string(request.generate) + " tokens");
    if (std::find(request.stop_tokens.begin(), request.stop_tokens.end(), next) != request.stop_tokens.end()) {
      say("generate: stopped at end-of-sequence token " + std::to_string(next) + " after " +
          std::to_string(step + 1) + " tokens");
      break;
    }
  }
  result.generate_seconds = seconds_since(start);
  return result;
}

LayerTensors CaptureResult::layer_tensors(const LoadedModel& model, int layer) const {
  const ModelConfig& c = model.config;
  const LayerRecord& rec = layers.at(layer);
  const int T = static_cast<int>(tokens.size());
  LayerTensors out;
  out.q = heads_first(rec.q, T, c.n_heads, c.head_dim);
  out.k = heads_first(rec.k, T, c.n_kv_heads, c.head_dim);
  out.v = heads_first(rec.v, T, c.n_kv_heads, c.head_dim);
  out.q_pre_rope = heads_first(rec.q_pre_rope, T, c.n_heads, c.head_dim);
  Vector norms = Vector::from_shape({static_cast<std::size_t>(T)});
  std::copy(rec.hidden_norm.begin(), rec.hidden_norm.end(), norms.begin());
  out.hidden_norm = std::move(norms);
  Matrix wo = Matrix::from_shape({static_cast<std::size_t>(c.hidden_size), static_cast<std::size_t>(c.q_dim())});
  std::copy_n(model.weights.layers[layer].wo, wo.size(), wo.data());
  out.o_proj = std::move(wo);
  return out;
}

double prefill_flops(const ModelConfig& c, int n_tokens) {
  const double n = n_tokens, D = c.hidden_size, QD = c.q_dim(), KD = c.kv_dim(), F = c.intermediate_size;
  const double projections = 2 * n * D * (QD + 2 * KD) + 2 * n * QD * D;
  const double mlp = 3 * 2 * n * D * F;
  const double attention = 2 * 2 * double(c.n_heads) * c.head_dim * (n * (n + 1) / 2);
  return c.n_layers * (projections + mlp + attention) + 2 * D * double(c.vocab_size);
}

DumpAttrs capture_dump_attrs(const LoadedModel& model, const CaptureResult& result, const DumpMetadata& meta) {
  const ModelConfig& c = model.config;
  DumpAttrs attrs;
  attrs.model = meta.model_name;
  attrs.source = meta.source;
  attrs.n_layers = c.n_layers;
  attrs.n_heads = c.n_heads;
  attrs.n_kv_heads = c.n_kv_heads;
  attrs.head_dim = c.head_dim;
  attrs.hidden_size = c.hidden_size;
  attrs.n_tokens = static_cast<int>(result.tokens.size());
  attrs.rope_theta = c.rope_theta;
  attrs.attn_scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  // kvdump requires C < T; a dump with no future part leaves it to --window.
  if (result.context_len < attrs.n_tokens) attrs.context_len = result.context_len;
  if (result.question_len > 0 && attrs.context_len) attrs.question_len = result.question_len;
  return attrs;
}

void write_capture_dump(const std::string& path, const LoadedModel& model, const CaptureResult& result,
                        const Tokenizer* tokenizer, const DumpMetadata& meta,
                        const std::function<void()>& checkpoint) {
  const ModelConfig& c = model.config;
  const DumpAttrs attrs = capture_dump_attrs(model, result, meta);
  DumpWriter writer(path, attrs, meta.storage, meta.layout);
  std::vector<std::string> text;
  if (tokenizer) {
    for (int id : result.tokens) text.push_back(tokenizer->token_text(id));
  }
  writer.write_tokens(result.tokens, text);
  for (int l = 0; l < c.n_layers; ++l) {
    if (checkpoint) checkpoint();
    LayerTensors tensors = result.layer_tensors(model, l);
    if (!meta.q_pre_rope) tensors.q_pre_rope.reset();
    writer.write_layer(l, tensors);
  }
  writer.finish();
}

}  // namespace kvsim
