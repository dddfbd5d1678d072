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

// Finite weights can still overflow float32 (inf, then NaN after the next
// norm); a dump of such activations would be silently meaningless. `rows` is
// token-major [n, heads * d], starting at position `first`.
void reject_nonfinite(const ModelConfig& config, int layer, const char* name, const float* rows, std::size_t n,
                      int heads, int first) {
  const std::size_t d = static_cast<std::size_t>(config.head_dim), width = heads * d;
  const std::size_t at = first_nonfinite(rows, n * width);
  if (at == n * width) return;
  throw InputError("capture: non-finite activation: layer " + std::to_string(layer) + " " + name + " is " +
                   nonfinite_name(rows[at]) + " at " + (std::string(name) == "q" ? "query" : "KV") + " head " +
                   std::to_string(at % width / d) + ", token " + std::to_string(first + at / width) + ", dim " +
                   std::to_string(at % d) + " (the model overflows float32 on this input); no dump was written");
}

void reject_nonfinite_layer(const ModelConfig& config, int layer, const LayerActivations& a) {
  reject_nonfinite(config, layer, "q", a.q, a.n_tokens, config.n_heads, a.first_position);
  reject_nonfinite(config, layer, "k", a.k, a.n_tokens, config.n_kv_heads, a.first_position);
  reject_nonfinite(config, layer, "v", a.v, a.n_tokens, config.n_kv_heads, a.first_position);
}

// ||hidden state entering the layer|| per row
std::vector<float> row_norms(const float* rows, std::size_t n, std::size_t D) {
  std::vector<float> out;
  for (std::size_t r = 0; r < n; ++r) {
    double sum_sq = 0;
    for (std::size_t i = 0; i < D; ++i) sum_sq += static_cast<double>(rows[r * D + i]) * rows[r * D + i];
    out.push_back(static_cast<float>(std::sqrt(sum_sq)));
  }
  return out;
}

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
    reject_nonfinite_layer(config_, layer, a);
    rec.q.insert(rec.q.end(), a.q, a.q + n * QD);
    rec.q_pre_rope.insert(rec.q_pre_rope.end(), a.q_pre_rope, a.q_pre_rope + n * QD);
    rec.k.insert(rec.k.end(), a.k, a.k + n * KD);
    rec.v.insert(rec.v.end(), a.v, a.v + n * KD);
    const std::vector<float> norms = row_norms(a.residual_in, n, D);
    rec.hidden_norm.insert(rec.hidden_norm.end(), norms.begin(), norms.end());
    if (checkpoint_) checkpoint_();
  }

 private:
  const ModelConfig& config_;
  CaptureResult& result_;
  const std::function<void()>& checkpoint_;
};

// Token-major [T, heads*d] -> head-major [heads, T, d].
Tensor3 heads_first(const float* rows, int n_tokens, int heads, int d) {
  Tensor3 out = Tensor3::from_shape({static_cast<std::size_t>(heads), static_cast<std::size_t>(n_tokens),
                                     static_cast<std::size_t>(d)});
  float* dst = out.data();
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < n_tokens; ++t)
      std::copy_n(rows + (static_cast<std::size_t>(t) * heads + h) * d, d,
                  dst + (static_cast<std::size_t>(h) * n_tokens + t) * d);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}


// Up front, before the model runs: the request's own consistency, and the
// warning of a sequence longer than the model was trained for.
void check_request(const ModelConfig& c, const CaptureRequest& request) {
  if (request.prompt_tokens.empty()) throw InputError("capture: the prompt has no tokens");
  if (request.generate < 0) throw UsageError("--generate must be >= 0");
  if (request.context_len < 1 || request.context_len > static_cast<int>(request.prompt_tokens.size())) {
    throw UsageError("context length " + std::to_string(request.context_len) + " must be in [1, " +
                     std::to_string(request.prompt_tokens.size()) + "] (the prompt's token count)");
  }
  const int max_tokens = static_cast<int>(request.prompt_tokens.size()) + request.generate;
  if (c.max_position_embeddings > 0 && max_tokens > c.max_position_embeddings && request.progress)
    request.progress("warning: " + std::to_string(max_tokens) + " tokens exceed the model's max_position_embeddings (" +
                     std::to_string(c.max_position_embeddings) + "); quality will degrade beyond it");
}

Matrix o_proj_of(const LoadedModel& model, int layer) {
  const ModelConfig& c = model.config;
  Matrix wo = Matrix::from_shape({static_cast<std::size_t>(c.hidden_size), static_cast<std::size_t>(c.q_dim())});
  model.weights.layers[layer].wo.widen_rows(0, static_cast<std::size_t>(c.hidden_size), c.q_dim(), wo.data());
  return wo;
}

// Writes each layer into the dump the moment the layer-by-layer pass has
// computed it: the run holds one layer's tensors, whatever the depth.
class StreamingWriter : public ForwardObserver {
 public:
  StreamingWriter(const LoadedModel& model, DumpWriter& writer, const DumpMetadata& meta,
                  const std::function<void()>& checkpoint)
      : model_(model), writer_(writer), meta_(meta), checkpoint_(checkpoint) {}
  void on_layer(int layer, const LayerActivations& a) override {
    const ModelConfig& c = model_.config;
    reject_nonfinite_layer(c, layer, a);
    const std::size_t n = a.n_tokens;
    LayerTensors t;
    t.q = heads_first(a.q, a.n_tokens, c.n_heads, c.head_dim);
    t.k = heads_first(a.k, a.n_tokens, c.n_kv_heads, c.head_dim);
    t.v = heads_first(a.v, a.n_tokens, c.n_kv_heads, c.head_dim);
    if (meta_.q_pre_rope)
      t.q_pre_rope = heads_first(a.q_pre_rope, a.n_tokens, c.n_heads,
                                 c.head_dim);
    const std::vector<float> norms = row_norms(a.residual_in, n, c.hidden_size);
    Vector hidden = Vector::from_shape({n});
    std::copy(norms.begin(), norms.end(), hidden.begin());
    t.hidden_norm = std::move(hidden);
    t.o_proj = o_proj_of(model_, layer);
    writer_.write_layer(layer, t);
    if (checkpoint_) checkpoint_();
  }

 private:
  const LoadedModel& model_;
  DumpWriter& writer_;
  const DumpMetadata& meta_;
  const std::function<void()>& checkpoint_;
};

// Greedy generation after the prompt: each token fed back (and, with an
// observer, recorded) until request.generate tokens or a stop token.
void generate_greedily(Transformer& transformer, std::vector<float> logits, const CaptureRequest& request,
                       CaptureResult& result, ForwardObserver* observer) {
  for (int step = 0; step < request.generate; ++step) {
    const int next = argmax(logits);
    result.generated.push_back(next);
    result.tokens.push_back(next);
    // Feeding the token records its own q/k/v (its logits are unused when last).
    logits = transformer.forward({next}, observer);
    if (request.progress && ((step + 1) % 32 == 0 || step + 1 == request.generate))
      request.progress("generate: " + std::to_string(step + 1) + "/" + std::to_string(request.generate) + " tokens");
    if (std::find(request.stop_tokens.begin(), request.stop_tokens.end(), next) != request.stop_tokens.end()) {
      if (request.progress)
        request.progress("generate: stopped at end-of-sequence token " + std::to_string(next) + " after " +
                         std::to_string(step + 1) + " tokens");
      break;
    }
  }
}

}  // namespace

CaptureResult run_capture(const LoadedModel& model, const CaptureRequest& request) {
  const ModelConfig& c = model.config;
  check_request(c, request);
  const int max_tokens = static_cast<int>(request.prompt_tokens.size()) + request.generate;
  auto say = [&](const std::string& line) {
    if (request.progress) request.progress(line);
  };

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
  generate_greedily(transformer, logits, request, result, &recorder);
  result.generate_seconds = seconds_since(start);
  return result;
}

LayerTensors CaptureResult::layer_tensors(const LoadedModel& model, int layer) const {
  const ModelConfig& c = model.config;
  const LayerRecord& rec = layers.at(layer);
  const int T = static_cast<int>(tokens.size());
  LayerTensors out;
  out.q = heads_first(rec.q.data(), T, c.n_heads, c.head_dim);
  out.k = heads_first(rec.k.data(), T, c.n_kv_heads, c.head_dim);
  out.v = heads_first(rec.v.data(), T, c.n_kv_heads, c.head_dim);
  out.q_pre_rope = heads_first(rec.q_pre_rope.data(), T, c.n_heads, c.head_dim);
  Vector norms = Vector::from_shape({static_cast<std::size_t>(T)});
  std::copy(rec.hidden_norm.begin(), rec.hidden_norm.end(), norms.begin());
  out.hidden_norm = std::move(norms);
  out.o_proj = o_proj_of(model, layer);
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

CaptureResult capture_to_dump(const LoadedModel& model, const CaptureRequest& request, const std::string& path,
                              const Tokenizer* tokenizer, const DumpMetadata& meta) {
  check_request(model.config, request);
  CaptureResult result;
  result.context_len = request.context_len;
  result.question_len = request.question_len;
  result.tokens = request.prompt_tokens;
  if (request.progress)
    request.progress("prefill: " + std::to_string(request.prompt_tokens.size()) + " tokens" +
                     (request.generate > 0 ? ", then up to " + std::to_string(request.generate) + " generated" : ""));
  if (request.generate > 0) {
    // Generation needs every layer's cache; it records nothing, and its
    // cache is gone before the recording pass starts.
    const int max_tokens = static_cast<int>(request.prompt_tokens.size()) + request.generate;
    Transformer transformer(model, max_tokens);
    auto start = std::chrono::steady_clock::now();
    std::vector<float> logits = transformer.forward(request.prompt_tokens);
    result.prefill_seconds = seconds_since(start);
    start = std::chrono::steady_clock::now();
    generate_greedily(transformer, std::move(logits), request, result, nullptr);
    result.generate_seconds = seconds_since(start);
  }
  // The recording pass: all tokens, one layer at a time, each layer written
  // as soon as it is computed (the dump stays a temporary file until finish()).
  const auto start = std::chrono::steady_clock::now();
  DumpWriter writer(path, capture_dump_attrs(model, result, meta), meta.storage, meta.layout);
  std::vector<std::string> text;
  if (tokenizer)
    for (int id : result.tokens) text.push_back(tokenizer->token_text(id));
  writer.write_tokens(result.tokens, text);
  StreamingWriter streaming(model, writer, meta, request.checkpoint);
  forward_layer_by_layer(model, result.tokens, streaming);
  writer.finish();
  result.record_seconds = seconds_since(start);
  if (request.generate == 0) result.prefill_seconds = result.record_seconds;  // the recording pass was the prefill
  return result;
}


}  // namespace kvsim
