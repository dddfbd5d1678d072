#include "sim/engine/nonfinite.hpp"

#include <cmath>
#include <cstring>

#include "io/finite_values.hpp"

namespace kvsim {
namespace {

// First non-finite value of a [rows, cols] block (row stride `stride`), or -1.
long first_nonfinite_in_block(const float* p, std::size_t rows, std::size_t cols, std::size_t stride) {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t c = first_nonfinite(p + r * stride, cols);
    if (c < cols) return static_cast<long>(r * cols + c);
  }
  return -1;
}

std::string kind(float v) { return std::isnan(v) ? "nan" : (v > 0 ? "+inf" : "-inf"); }

}  // namespace

std::vector<std::string> find_nonfinite(const LayerTensors& x, const LayerGeom& g, int layer) {
  std::vector<std::string> out(g.G);
  const std::size_t T = g.T, d = g.d;
  const std::string base = "/layers/" + std::to_string(layer) + "/";
  // Every value of the layer is scanned: one KV head's group per thread.
#pragma omp parallel for schedule(dynamic)
  for (int kv = 0; kv < g.G; ++kv) {
    auto tensor_hit = [&](const Tensor3& t, const char* name, int head, const char* head_word) {
      const float* p = t.data() + std::size_t(head) * T * d;
      const long at = first_nonfinite_in_block(p, T, d, d);
      if (at < 0) return false;
      out[kv] = kind(p[at]) + " in " + base + name + " at " + head_word + " " + std::to_string(head) +
                ", token " + std::to_string(at / long(d)) + ", dim " + std::to_string(at % long(d));
      return true;
    };
    if (tensor_hit(x.k, "k", kv, "KV head") || tensor_hit(x.v, "v", kv, "KV head")) continue;
    bool found = false;
    for (int hi = 0; hi < g.r && !found; ++hi) found = tensor_hit(x.q, "q", kv * g.r + hi, "query head");
    if (found || !x.o_proj) continue;
    // o_proj [D, H*d]: the columns of this group's heads, h*d .. (h+r)*d.
    const std::size_t cols = std::size_t(g.r) * d, stride = std::size_t(g.H) * d;
    const float* p = x.o_proj->data() + std::size_t(kv) * cols;
    const long at = first_nonfinite_in_block(p, g.D, cols, stride);
    if (at >= 0) {
      const long row = at / long(cols), col = long(std::size_t(kv) * cols) + at % long(cols);
      out[kv] = kind(p[std::size_t(row) * stride + std::size_t(at % long(cols))]) + " in " + base +
                "o_proj at row " + std::to_string(row) + ", column " + std::to_string(col) +
                " (query head " + std::to_string(col / long(d)) + ")";
    }
  }
  return out;
}

FilteredLayer drop_kv_heads(const LayerTensors& x, const LayerGeom& geom, const std::vector<bool>& keep) {
  FilteredLayer f;
  std::vector<int> kvs;
  for (int g = 0; g < geom.G; ++g)
    if (keep[g]) kvs.push_back(g);
  const int G = static_cast<int>(kvs.size()), r = geom.r, H = G * r;
  const std::size_t T = geom.T, d = geom.d, slab = T * d;
  f.geom = geom;
  f.geom.G = G;
  f.geom.H = H;
  f.x.q = Tensor3::from_shape({std::size_t(H), T, d});
  f.x.k = Tensor3::from_shape({std::size_t(G), T, d});
  f.x.v = Tensor3::from_shape({std::size_t(G), T, d});
  if (x.q_pre_rope) f.x.q_pre_rope = Tensor3::from_shape({std::size_t(H), T, d});
  for (int i = 0; i < G; ++i) {
    const int g = kvs[i];
    std::memcpy(f.x.k.data() + i * slab, x.k.data() + g * slab, slab * sizeof(float));
    std::memcpy(f.x.v.data() + i * slab, x.v.data() + g * slab, slab * sizeof(float));
    for (int hi = 0; hi < r; ++hi) {
      std::memcpy(f.x.q.data() + std::size_t(i * r + hi) * slab, x.q.data() + std::size_t(g * r + hi) * slab,
                  slab * sizeof(float));
      if (x.q_pre_rope)
        std::memcpy(f.x.q_pre_rope->data() + std::size_t(i * r + hi) * slab,
                    x.q_pre_rope->data() + std::size_t(g * r + hi) * slab, slab * sizeof(float));
      f.heads.push_back(g * r + hi);
    }
  }
  if (x.o_proj) {
    const std::size_t D = geom.D, cols = std::size_t(r) * d, old_stride = std::size_t(geom.H) * d;
    Matrix o = Matrix::from_shape({D, std::size_t(H) * d});
    for (std::size_t row = 0; row < D; ++row)
      for (int i = 0; i < G; ++i)
        std::memcpy(o.data() + row * H * d + i * cols, x.o_proj->data() + row * old_stride + kvs[i] * cols,
                    cols * sizeof(float));
    f.x.o_proj = std::move(o);
  }
  return f;
}

}  // namespace kvsim
