// pyramidkv — PyramidKV's layer schedule (Cai et al., "PyramidKV: Dynamic KV
// Cache Compression based on Pyramidal Information Funneling", arXiv
// 2406.02069; kvpress PyramidKVPress.get_layer_budget,
// kvpress/presses/pyramidkv_press.py). Lower layers keep more, higher layers
// less, on a straight line whose mean is the item's budget N; kvpress's
// formula with its q_len -> C and q_len * (1 - compression_ratio) -> N:
//   min = N / beta, max = 2N - min; if max >= C - window: max = C - window,
//   min = 2N - max; unless C >= max >= min >= window (and L >= 2), every
//   layer keeps N (kvpress falls back to SnapKV's uniform budget);
//   N_l = round(max - l (max - min) / (L - 1)), round half to even (Python).
// kvpress's PyramidKVPress is a SnapKVPress; here the schedule wraps any
// scorer, pyramidkv alone meaning pyramidkv(snapkv).
#include <cfenv>
#include <cmath>

#include "policies/allocator.hpp"

namespace kvsim {
namespace {

struct Pyramid {
  bool uniform = true;
  double max = 0, min = 0;
};

Pyramid pyramid(int budget, int n_layers, int C, int window, int beta) {
  Pyramid p;
  const double n = budget;
  p.min = n / beta;
  p.max = 2 * n - p.min;
  if (p.max >= C - window) {
    p.max = C - window;
    p.min = 2 * n - p.max;
  }
  p.uniform = n_layers < 2 || !(C >= p.max && p.max >= p.min && p.min >= window);
  return p;
}

class PyramidKvPolicy : public AllocatorPolicy {
 public:
  PyramidKvPolicy(std::unique_ptr<Policy> inner, int window, int beta)
      : AllocatorPolicy("pyramidkv", std::move(inner)), window_(window), beta_(beta) {}
  int layer_budget(int budget, int layer, const LayerGeom& geom, const LayerTensors&) const override {
    const Pyramid p = pyramid(budget, geom.n_layers, geom.C, window_, beta_);
    if (p.uniform) return budget;
    const double steps = (p.max - p.min) / (geom.n_layers - 1);
    return static_cast<int>(std::nearbyint(p.max - layer * steps));  // FE_TONEAREST: half to even
  }
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    std::vector<Caveat> out = AllocatorPolicy::caveats(budget, block, geom);
    const Pyramid p = pyramid(budget, geom.n_layers, geom.C, window_, beta_);
    if (p.uniform)
      out.push_back({"pyramidkv_uniform",
                     geom.n_layers < 2
                         ? "the model has one layer: every layer keeps N, as the inner policy alone"
                         : "the pyramid's layer budgets (from " + std::to_string(int(std::floor(p.max))) + " down to " +
                               std::to_string(int(std::floor(p.min))) + ") do not satisfy C >= max >= min >= window (" +
                               std::to_string(window_) +
                               "), where kvpress's PyramidKV falls back to a uniform budget: every layer keeps N, as "
                               "the inner policy alone (a smaller pyramidkv window or beta gives a pyramid)"});
    return out;
  }

 private:
  int window_, beta_;
};

}  // namespace

PolicyInfo pyramidkv_policy_info() {
  return wrapper_info("pyramidkv",
                      "allocator: pyramid layer schedule (lower layers keep more; mean over layers = N); wraps any "
                      "scorer: pyramidkv(snapkv)",
                      {{"window", "64", "window_size of kvpress's schedule (the smallest layer budget must reach it)"},
                       {"beta", "20", "steepness: the top layer keeps about N/beta"}},
                      {"snapkv"},
                      [](const PolicyParams& p, std::unique_ptr<Policy> inner) -> std::unique_ptr<Policy> {
                        return std::make_unique<PyramidKvPolicy>(std::move(inner), p.get_int("window", 0, 1 << 30),
                                                                 p.get_int("beta", 1, 1 << 30));
                      });
}

}  // namespace kvsim
