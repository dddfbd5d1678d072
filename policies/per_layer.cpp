// per_layer — per-layer budgets from a list or a file around any scorer
// (kvpress PerLayerCompressionPress, kvpress/presses/per_layer_compression_press.py).
// kvpress takes absolute compression ratios per layer; kvsim takes each
// layer's share and scales it to the item's budget, so per_layer sweeps
// budgets like every other policy and compares at equal memory:
//   N_l = L * N * w_l / sum(w), rounded by largest remainder (ties to the
//   lower layer) so that sum_l N_l = L * N exactly.
// w_l from `ratios` (kept fractions, "0.5/0.3/0.2"), `compression_ratios`
// (kvpress's removed fractions: w_l = 1 - x_l) or `file` (one kept fraction
// per line, '#' comments). Giving --budgets equal to the mean kept fraction
// reproduces kvpress's absolute budgets (N_l = w_l * C up to rounding).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <sstream>

#include "policies/allocator.hpp"

namespace kvsim {
namespace {

double parse_share(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1 || text.find_first_of("xXpPnN") != std::string::npos)
    throw UsageError(where + ": '" + text + "' is not a fraction in [0, 1]");
  return v;
}

std::vector<double> read_shares(const PolicyParams& p) {
  const std::string& list = p.get("ratios");
  const std::string& removed = p.get("compression_ratios");
  const std::string& file = p.get("file");
  if ((!list.empty()) + (!removed.empty()) + (!file.empty()) != 1)
    throw UsageError("per_layer: give exactly one of ratios=a/b/... (kept fractions per layer), "
                     "compression_ratios=a/b/... (kvpress's removed fractions) or file=PATH");
  std::vector<double> w;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw InputError("per_layer:file=" + file + ": cannot read");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      const auto last = line.find_last_not_of(" \t\r");
      w.push_back(parse_share(line.substr(first, last - first + 1), file + ": line " + std::to_string(n)));
    }
  } else {
    std::stringstream ss(list.empty() ? removed : list);
    std::string item;
    while (std::getline(ss, item, '/'))
      w.push_back(parse_share(item, list.empty() ? "per_layer:compression_ratios" : "per_layer:ratios"));
    if (list.empty())
      for (double& x : w) x = 1 - x;
  }
  if (w.empty()) throw UsageError("per_layer: no per-layer ratio given");
  if (std::accumulate(w.begin(), w.end(), 0.0) <= 0)
    throw UsageError("per_layer: every layer's kept fraction is 0; nothing to allocate");
  return w;
}

class PerLayerPolicy : public AllocatorPolicy {
 public:
  PerLayerPolicy(std::unique_ptr<Policy> inner, std::vector<double> shares)
      : AllocatorPolicy("per_layer", std::move(inner)), shares_(std::move(shares)) {}
  void check(const LayerGeom& geom) const override {
    AllocatorPolicy::check(geom);
    if (geom.n_layers > 0 && int(shares_.size()) != geom.n_layers)
      throw UsageError("per_layer: " + std::to_string(shares_.size()) + " per-layer ratios for a model of " +
                       std::to_string(geom.n_layers) + " layers");
  }
  int layer_budget(int budget, int layer, const LayerGeom& geom, const LayerTensors&) const override {
    return budgets(budget).at(layer);
  }
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    std::vector<Caveat> out = AllocatorPolicy::caveats(budget, block, geom);
    const std::vector<int> n = budgets(budget);
    for (std::size_t l = 0; l < n.size(); ++l)
      if (n[l] > geom.C) {
        out.push_back({"per_layer_share_above_context",
                       "layer " + std::to_string(l) + "'s share is " + std::to_string(n[l]) +
                           " tokens per KV head, more than the context (" + std::to_string(geom.C) +
                           "): it keeps all of it, and the model keeps fewer tokens than L*N"});
        break;
      }
    return out;
  }

 private:
  std::vector<int> budgets(int budget) const {
    const int L = static_cast<int>(shares_.size());
    const double total = std::accumulate(shares_.begin(), shares_.end(), 0.0);
    const long want = static_cast<long>(L) * budget;
    std::vector<int> n(L);
    std::vector<std::pair<double, int>> remainder(L);
    long given = 0;
    for (int l = 0; l < L; ++l) {
      const double exact = double(want) * shares_[l] / total;
      n[l] = static_cast<int>(std::floor(exact));
      given += n[l];
      remainder[l] = {exact - n[l], l};
    }
    std::stable_sort(remainder.begin(), remainder.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (long k = 0; k < want - given; ++k) ++n[remainder[k % L].second];
    return n;
  }
  std::vector<double> shares_;
};

}  // namespace

PolicyInfo per_layer_policy_info() {
  // not in --policies all: no schedule of its own to default to
  return wrapper_info("per_layer",
                      "allocator: per-layer budgets from a list or file, scaled so the mean over layers is N; wraps "
                      "any scorer: per_layer(snapkv):ratios=0.6/0.4",
                      {{"ratios", "", "kept fraction per layer, '/'-separated (shares: scaled to the budget)"},
                       {"compression_ratios", "", "kvpress's per-layer removed fractions, '/'-separated"},
                       {"file", "", "file with one kept fraction per layer per line"}},
                      {"", false},
                      [](const PolicyParams& p, std::unique_ptr<Policy> inner) -> std::unique_ptr<Policy> {
                        return std::make_unique<PerLayerPolicy>(std::move(inner), read_shares(p));
                      });
}

}  // namespace kvsim
