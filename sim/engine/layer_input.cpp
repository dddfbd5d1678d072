#include "sim/engine/layer_input.hpp"

#include <chrono>
#include <numeric>
#include <string>

#include "io/errors.hpp"
#include "sim/engine/magnitudes.hpp"

namespace kvsim {

FilteredLayer load_layer(const LayerSource& source, const LayerGeom& geom, int layer,
                         bool allow_nonfinite, std::vector<SkippedUnit>& skipped, bool q_pre_rope,
                         LayerLoadStats* stats) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  LayerTensors x = source.read_layer(layer, q_pre_rope);
  const auto t1 = Clock::now();
  struct ChecksTimer {  // every return below counts as the end of the checks
    LayerLoadStats* stats;
    Clock::time_point t0, t1;
    ~ChecksTimer() {
      if (!stats) return;
      stats->io_seconds += std::chrono::duration<double>(t1 - t0).count();
      stats->check_seconds += std::chrono::duration<double>(Clock::now() - t1).count();
    }
  } timer{stats, t0, t1};
  if (stats) stats->bytes += source.stored_bytes(layer, q_pre_rope);
  check_layer_shapes(x, geom, layer);
  std::vector<std::string> bad = find_nonfinite(x, geom, layer);
  const std::vector<std::string> overflow = find_logit_overflow(x, geom, layer);
  for (int g = 0; g < geom.G; ++g)
    if (bad[g].empty()) bad[g] = overflow[g];
  std::vector<bool> keep(geom.G, true);
  bool any = false;
  for (int g = 0; g < geom.G; ++g) {
    if (bad[g].empty()) continue;
    if (!allow_nonfinite) {
      const std::string origin = source.origin();
      throw InputError((origin.empty() ? "" : origin + ": ") + "layer " + std::to_string(layer) + ": " +
                       bad[g] + "; rerun with --allow-nonfinite to skip such (layer, KV head) units");
    }
    keep[g] = false;
    any = true;
    skipped.push_back({layer, g, bad[g]});
  }
  if (any) {
    FilteredLayer f = drop_kv_heads(x, geom, keep);
    rescale_values_exactly(f.x);
    return f;
  }
  rescale_values_exactly(x);
  FilteredLayer f;
  f.x = std::move(x);
  f.geom = geom;
  f.heads.resize(geom.H);
  std::iota(f.heads.begin(), f.heads.end(), 0);
  return f;
}

}  // namespace kvsim
