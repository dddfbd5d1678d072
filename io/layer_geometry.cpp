#include "io/layer_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "io/errors.hpp"

namespace kvsim {

LayerGeom LayerGeom::from(const DumpAttrs& a, int context_len) {
  LayerGeom g;
  g.H = a.n_heads;
  g.G = a.n_kv_heads;
  g.r = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 1;
  g.d = a.head_dim;
  g.T = a.n_tokens;
  g.C = context_len;
  g.D = a.hidden_size;
  g.n_layers = a.n_layers;
  g.rope_theta = a.rope_theta;
  g.rope_interleaved = a.source == "llama2c";
  g.question_len = a.question_len.value_or(0);
  g.scale = static_cast<float>(a.attn_scale ? *a.attn_scale : 1.0 / std::sqrt(double(a.head_dim)));
  return g;
}

std::vector<int> parse_layer_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    try {
      std::size_t pos = 0;
      out.push_back(std::stoi(item, &pos));
      if (pos != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError("--layers: '" + item + "' is not a layer index");
    }
  }
  return out;
}

std::vector<int> select_layers(const std::vector<int>& requested, int n_layers) {
  std::vector<int> layers = requested;
  if (layers.empty()) {
    layers.resize(std::max(0, n_layers));
    std::iota(layers.begin(), layers.end(), 0);
  }
  for (int l : layers)
    if (l < 0 || l >= n_layers)
      throw UsageError("--layers: layer " + std::to_string(l) + " out of range [0, " + std::to_string(n_layers) +
                       ")");
  std::vector<int> sorted = layers;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice != sorted.end())
    throw UsageError("--layers: layer " + std::to_string(*twice) + " is listed twice");
  return layers;
}

int resolve_context_len(const DumpAttrs& a, int window) {
  int C;
  if (a.context_len) {
    C = *a.context_len;
    if (C < 1 || C >= a.n_tokens)
      throw InputError("attribute context_len=" + std::to_string(C) + " must be in [1, n_tokens=" +
                       std::to_string(a.n_tokens) + ")");
  } else {
    if (window < 1 || window >= a.n_tokens)
      throw UsageError("--window " + std::to_string(window) + " must be in [1, n_tokens=" +
                       std::to_string(a.n_tokens) + ") (the dump has no context_len)");
    C = a.n_tokens - window;
  }
  return C;
}

void check_layer_shapes(const LayerTensors& x, const LayerGeom& g, int layer) {
  auto fail = [&](const std::string& what, const auto& shape, const std::string& want) {
    std::ostringstream os;
    os << "/layers/" << layer << "/" << what << ": shape [";
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << "], expected " << want;
    throw InputError(os.str());
  };
  auto s3 = [](int a, int b, int c) {
    return "[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + "]";
  };
  if (x.q.shape(0) != std::size_t(g.H) || x.q.shape(1) != std::size_t(g.T) || x.q.shape(2) != std::size_t(g.d))
    fail("q", x.q.shape(), s3(g.H, g.T, g.d));
  if (x.k.shape(0) != std::size_t(g.G) || x.k.shape(1) != std::size_t(g.T) || x.k.shape(2) != std::size_t(g.d))
    fail("k", x.k.shape(), s3(g.G, g.T, g.d));
  if (x.v.shape(0) != std::size_t(g.G) || x.v.shape(1) != std::size_t(g.T) || x.v.shape(2) != std::size_t(g.d))
    fail("v", x.v.shape(), s3(g.G, g.T, g.d));
  if (x.o_proj && (x.o_proj->shape(0) != std::size_t(g.D) || x.o_proj->shape(1) != std::size_t(g.H * g.d)))
    fail("o_proj", x.o_proj->shape(),
         "[" + std::to_string(g.D) + ", " + std::to_string(g.H * g.d) + "]");
}

}  // namespace kvsim
