#pragma once
// Helpers for the engine tests: tiny hand-written layers and random layers.
#include <cmath>
#include <initializer_list>
#include <random>
#include <vector>

#include "io/kvdump.hpp"
#include "policies/policy.hpp"
#include "io/layer_geometry.hpp"
#include "sim/engine/sweep.hpp"

namespace kvsim::test {

inline DumpAttrs tiny_attrs(int L, int H, int G, int d, int T, int C, int D, double scale) {
  DumpAttrs a;
  a.model = "tiny";
  a.source = "synthetic";
  a.n_layers = L;
  a.n_heads = H;
  a.n_kv_heads = G;
  a.head_dim = d;
  a.hidden_size = D;
  a.n_tokens = T;
  a.context_len = C;
  a.attn_scale = scale;
  return a;
}

inline LayerTensors zero_layer(int H, int G, int d, int T) {
  LayerTensors x;
  x.q = Tensor3::from_shape({std::size_t(H), std::size_t(T), std::size_t(d)});
  x.k = Tensor3::from_shape({std::size_t(G), std::size_t(T), std::size_t(d)});
  x.v = Tensor3::from_shape({std::size_t(G), std::size_t(T), std::size_t(d)});
  x.q.fill(0.f);
  x.k.fill(0.f);
  x.v.fill(0.f);
  return x;
}

inline void set_vec(Tensor3& t, int head, int pos, std::initializer_list<double> v) {
  int i = 0;
  for (double x : v) t(head, pos, i++) = static_cast<float>(x);
}

// Gaussian layer (keys with varied norms, some shared direction) with o_proj.
inline LayerTensors random_layer(int H, int G, int d, int T, int D, unsigned seed, bool o_proj = true) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::uniform_real_distribution<float> u(0.3f, 2.0f);
  LayerTensors x = zero_layer(H, G, d, T);
  for (auto& v : x.q) v = 1.5f * n01(rng);
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) {
      const float s = u(rng);
      for (int c = 0; c < d; ++c) x.k(g, t, c) = s * n01(rng) + (c == 0 ? 1.0f : 0.f);
    }
  for (auto& v : x.v) v = n01(rng);
  if (o_proj) {
    Matrix w = Matrix::from_shape({std::size_t(D), std::size_t(H * d)});
    for (auto& v : w) v = n01(rng) / std::sqrt(float(H * d));
    x.o_proj = std::move(w);
  }
  return x;
}

// A sweep of `policies` x `budgets` (CLI list syntax) in block mode `block`,
// keeping every kept set for the test to inspect.
inline SweepSpec spec_for(const std::string& policies, const std::string& budgets, int block) {
  SweepSpec s;
  s.policies = parse_policy_list(policies);
  s.budgets = parse_budget_list(budgets);
  s.options.block = block;
  s.keep_sets = true;
  return s;
}

}  // namespace kvsim::test
