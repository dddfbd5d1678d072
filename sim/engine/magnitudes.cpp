#include "sim/engine/magnitudes.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace kvsim {
namespace {

struct Largest {
  double norm = 0;
  int head = 0, token = 0;
};

// Largest Euclidean norm (double) over the rows of heads [h0, h1) of a [heads, T, d] tensor.
Largest largest_row(const Tensor3& t, int h0, int h1, int T, int d) {
  Largest out;
  for (int h = h0; h < h1; ++h)
    for (int j = 0; j < T; ++j) {
      const float* p = t.data() + (std::size_t(h) * T + j) * d;
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (int c = 0; c < d; ++c) s += double(p[c]) * p[c];
      if (std::sqrt(s) > out.norm) out = {std::sqrt(s), h, j};
    }
  return out;
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

template <class Array>
void rescale(Array& a) {
  float* p = a.data();
  const long long n = static_cast<long long>(a.size());
  float mx = 0;
#pragma omp parallel for simd reduction(max : mx) schedule(static)
  for (long long i = 0; i < n; ++i) mx = std::max(mx, std::fabs(p[i]));
  if (mx == 0 || (mx <= 0x1p20f && mx >= 0x1p-20f)) return;
  const int shift = -std::ilogb(mx);  // largest magnitude becomes [1, 2)
#pragma omp parallel for schedule(static)
  for (long long i = 0; i < n; ++i) p[i] = std::ldexp(p[i], shift);
}

}  // namespace

std::vector<std::string> find_logit_overflow(const LayerTensors& x, const LayerGeom& g, int layer) {
  // |s·q·k| and every partial sum of q·k are <= max(1, s)·||q||·||k||; a quarter
  // of FLT_MAX leaves room for the max-subtraction of the softmax (l_j - max l).
  const double limit = std::numeric_limits<float>::max() / 4.0;
  const double scale = std::max(1.0, std::fabs(double(g.scale)));
  const std::string base = "/layers/" + std::to_string(layer) + "/";
  std::vector<std::string> out(g.G);
#pragma omp parallel for schedule(dynamic)
  for (int kv = 0; kv < g.G; ++kv) {
    const Largest k = largest_row(x.k, kv, kv + 1, g.T, g.d);
    const Largest q = largest_row(x.q, kv * g.r, (kv + 1) * g.r, g.T, g.d);
    const double bound = scale * q.norm * k.norm;
    if (bound <= limit) continue;  // also false for a nan/inf scale: reported below
    out[kv] = "attention logits s*q.k can overflow float32 at KV head " + std::to_string(kv) +
              ": max ||q|| = " + sci(q.norm) + " (" + base + "q, query head " + std::to_string(q.head) +
              ", token " + std::to_string(q.token) + "), max ||k|| = " + sci(k.norm) + " (" + base +
              "k, token " + std::to_string(k.token) + "), attn_scale " + sci(g.scale) +
              "; no real activation is this large (wrong dtype or scale in the dump?)";
  }
  if (!std::isfinite(g.scale))
    for (auto& reason : out)
      reason = "attention logits s*q.k are not finite: attn_scale is " + sci(g.scale);
  return out;
}

void rescale_values_exactly(LayerTensors& x) {
  rescale(x.v);
  if (x.o_proj) rescale(*x.o_proj);
}

}  // namespace kvsim
