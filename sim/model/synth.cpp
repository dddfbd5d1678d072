#include "sim/model/synth.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/errors.hpp"

namespace kvsim {
namespace {

// SplitMix64 + Box-Muller: tiny, fully specified generators, so a seed gives
// the same bits with any standard library (std::normal_distribution does not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t state_;
};

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t layer, std::uint64_t stream) {
  Rng mix(seed * 0x100000001B3ULL + layer * 0x9E3779B97F4A7C15ULL + stream);
  return mix.next();
}

using Vec = std::vector<double>;

// Semantic structure lives in the low-frequency RoPE pairs (rotate-half pairs
// i and i+d/2 for i >= d/4), which barely rotate over a context, so it
// survives RoPE; the high-frequency pairs carry a positional component that
// makes attention local, as in real models.
struct Dims {
  int d;
  bool slow(int i) const { return (i % (d / 2)) >= d / 4; }
};

Vec unit_in_slow_dims(Rng& rng, const Dims& dims) {
  Vec v(static_cast<std::size_t>(dims.d), 0.0);
  double norm = 0;
  for (int i = 0; i < dims.d; ++i)
    if (dims.slow(i)) {
      v[i] = rng.normal();
      norm += v[i] * v[i];
    }
  norm = std::sqrt(norm);
  for (double& x : v) x /= norm;
  return v;
}

Vec noise(Rng& rng, int d, double amplitude) {
  Vec v(static_cast<std::size_t>(d));
  const double s = amplitude / std::sqrt(static_cast<double>(d));
  for (double& x : v) x = rng.normal() * s;
  return v;
}

void axpy(double a, const Vec& x, Vec& y) {
  for (std::size_t i = 0; i < y.size(); ++i) y[i] += a * x[i];
}

Vec normalized(Vec v) {
  double n = std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
  for (double& x : v) x /= n;
  return v;
}

Vec rope_frequencies(int d, double theta) {
  Vec freq(static_cast<std::size_t>(d / 2));
  for (int i = 0; i < d / 2; ++i) freq[i] = std::pow(theta, -2.0 * i / d);
  return freq;
}

// HF rotate-half RoPE at position pos, written into out (float32).
void rope_into(const Vec& x, int pos, const Vec& freq, float* out) {
  const int half = static_cast<int>(freq.size());
  for (int i = 0; i < half; ++i) {
    const double c = std::cos(pos * freq[i]), s = std::sin(pos * freq[i]);
    out[i] = static_cast<float>(x[i] * c - x[i + half] * s);
    out[i + half] = static_cast<float>(x[i + half] * c + x[i] * s);
  }
}

struct Layout {
  int T, C;
  std::vector<int> kind;  // 0 normal, 1 distinctive, 2 retrieval, 3 sink
};

Layout token_layout(const SynthConfig& cfg, std::uint64_t layer_seed) {
  Layout layout;
  layout.T = cfg.n_tokens;
  layout.C = cfg.attrs().context_len.value();
  layout.kind.assign(static_cast<std::size_t>(layout.T), 0);
  Rng rng(layer_seed ^ 0x5151);
  for (int j = 1; j < layout.T; ++j)
    if (rng.uniform() < cfg.distinctive_fraction) layout.kind[j] = 1;
  const int retrieval = std::min(cfg.n_retrieval, std::max(0, layout.C - 2));
  for (int r = 0; r < retrieval; ++r) layout.kind[1 + rng.below(layout.C - 1)] = 2;
  layout.kind[0] = 3;
  return layout;
}

}  // namespace

DumpAttrs SynthConfig::attrs() const {
  DumpAttrs a;
  a.model = model;
  a.source = "synthetic";
  a.n_layers = n_layers;
  a.n_heads = n_heads;
  a.n_kv_heads = n_kv_heads;
  a.head_dim = head_dim;
  a.hidden_size = hidden_size > 0 ? hidden_size : n_heads * head_dim;
  a.n_tokens = n_tokens;
  a.rope_theta = rope_theta;
  a.context_len = context_len > 0 ? context_len : n_tokens - std::min(64, std::max(1, n_tokens / 4));
  a.validate("synth");
  if (head_dim % 4 != 0) throw UsageError("synth: --head-dim must be a multiple of 4");
  if (distinctive_fraction < 0 || distinctive_fraction > 1)
    throw UsageError("synth: --distinctive must be in [0, 1]");
  if (n_retrieval < 0) throw UsageError("synth: --retrieval must be >= 0");
  return a;
}

std::vector<int> synth_tokens(const SynthConfig& config) {
  Rng rng(stream_seed(config.seed, 0xFFFF, 7));
  std::vector<int> ids(static_cast<std::size_t>(config.n_tokens));
  ids[0] = 1;  // BOS
  for (std::size_t t = 1; t < ids.size(); ++t) ids[t] = 3 + rng.below(32000 - 3);
  return ids;
}

LayerTensors synth_layer(const SynthConfig& cfg, int layer) {
  const DumpAttrs a = cfg.attrs();
  const int H = a.n_heads, G = a.n_kv_heads, d = a.head_dim, T = a.n_tokens;
  const int r = H / G;
  const Dims dims{d};
  const double scale = a.scale();
  const std::uint64_t layer_seed = stream_seed(cfg.seed, static_cast<std::uint64_t>(layer), 1);
  const Layout layout = token_layout(cfg, layer_seed);
  const Vec freq = rope_frequencies(d, a.rope_theta);

  // Target logits (after scaling): sink ~ ln T + 1, retrieval ~ ln T, local peak ~ 3.
  const double q_norm = 4.0;
  const double sink_norm = (std::log(static_cast<double>(T)) + 1.0) / (scale * q_norm);
  const double retrieval_norm = std::log(static_cast<double>(T)) / (scale * q_norm);
  const double local_norm = std::sqrt(3.0 / scale) / std::sqrt(2.0);

  LayerTensors out;
  out.q = Tensor3::from_shape({std::size_t(H), std::size_t(T), std::size_t(d)});
  out.k = Tensor3::from_shape({std::size_t(G), std::size_t(T), std::size_t(d)});
  out.v = Tensor3::from_shape({std::size_t(G), std::size_t(T), std::size_t(d)});
  if (cfg.with_q_pre_rope) out.q_pre_rope = Tensor3::from_shape({std::size_t(H), std::size_t(T), std::size_t(d)});

  // Positional component shared by q and k in the fast pairs: after RoPE,
  // q_t . k_j is a sum of cos((t-j) w_i), peaked at t = j.
  Vec local(static_cast<std::size_t>(d), 0.0);
  for (int i = 0; i < d; ++i)
    if (!dims.slow(i)) local[i] = 1.0;
  local = normalized(local);

  // Each KV head draws from its own stream, so heads generate in parallel and
  // the result does not depend on the thread count.
#pragma omp parallel for schedule(dynamic)
  for (int g = 0; g < G; ++g) {
    Rng rng(stream_seed(cfg.seed, static_cast<std::uint64_t>(layer), 100 + static_cast<std::uint64_t>(g)));
    const Vec shared_key = unit_in_slow_dims(rng, dims);   // where most keys sit
    const Vec query_dir = unit_in_slow_dims(rng, dims);    // where queries point (and the sink)
    const Vec retrieval_dir = unit_in_slow_dims(rng, dims);
    for (int j = 0; j < T; ++j) {
      Vec key = noise(rng, d, 1.0);
      switch (layout.kind[j]) {
        case 3: axpy(sink_norm, query_dir, key); break;
        case 2: axpy(retrieval_norm, retrieval_dir, key); break;
        case 1: {  // off the shared direction, leaning towards the queries by a random amount
          Vec dir = unit_in_slow_dims(rng, dims);
          axpy(rng.uniform(), query_dir, dir);
          axpy(3.0, normalized(dir), key);
          break;
        }
        default: axpy(3.0, shared_key, key); break;
      }
      axpy(local_norm, local, key);
      rope_into(key, j, freq, &out.k(g, j, 0));
      Vec value = noise(rng, d, std::sqrt(static_cast<double>(d)));
      if (layout.kind[j] == 3)
        for (double& x : value) x *= 0.1;  // sinks carry little value, as observed in real models
      for (int i = 0; i < d; ++i) out.v(g, j, i) = static_cast<float>(value[i]);
    }
    for (int hh = 0; hh < r; ++hh) {
      const int h = g * r + hh;
      Vec head_dir = query_dir;
      axpy(0.3, unit_in_slow_dims(rng, dims), head_dir);
      head_dir = normalized(head_dir);
      for (int t = 0; t < T; ++t) {
        Vec query = noise(rng, d, 0.5 * q_norm);
        axpy(q_norm, head_dir, query);
        if (t >= layout.C) axpy(q_norm, retrieval_dir, query);  // future queries look things up
        axpy(local_norm, local, query);
        if (out.q_pre_rope)
          for (int i = 0; i < d; ++i) (*out.q_pre_rope)(h, t, i) = static_cast<float>(query[i]);
        rope_into(query, t, freq, &out.q(h, t, 0));
      }
    }
  }
  if (cfg.with_o_proj) {
    Rng rng(stream_seed(cfg.seed, static_cast<std::uint64_t>(layer), 2));
    const int D = a.hidden_size;
    Matrix w = Matrix::from_shape({std::size_t(D), std::size_t(H * d)});
    const double s = 1.0 / std::sqrt(static_cast<double>(H * d));
    for (auto& x : w) x = static_cast<float>(rng.normal() * s);
    out.o_proj = std::move(w);
  }
  return out;
}

void write_synth_dump(const SynthConfig& config, const std::string& path,
                      const std::function<void(int, int)>& on_layer_written) {
  const DumpAttrs attrs = config.attrs();
  DumpWriter writer(path, attrs, config.storage);
  writer.write_tokens(synth_tokens(config));
  for (int l = 0; l < attrs.n_layers; ++l) {
    writer.write_layer(l, synth_layer(config, l));
    if (on_layer_written) on_layer_written(l + 1, attrs.n_layers);
  }
  writer.finish();
}

}  // namespace kvsim
