#include "analysis/kept_set_source.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <utility>

#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"

namespace kvsim::analysis {

KeptSetProvider kept_sets_from_csv(const std::string& path) {
  const CsvTable table = CsvTable::read(path);
  const std::size_t c_layer = table.column("layer"), c_head = table.column("kv_head"),
                    c_pos = table.column("position");
  auto sets = std::make_shared<std::map<std::pair<int, int>, std::vector<int>>>();
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const double layer = table.number(r, c_layer), head = table.number(r, c_head),
                 pos = table.number(r, c_pos);
    if (layer != std::floor(layer) || head != std::floor(head) || pos != std::floor(pos) ||
        pos < 0)
      throw InputError(path + ": data row " + std::to_string(r + 1) +
                       ": layer, kv_head and position must be non-negative integers");
    (*sets)[{int(layer), int(head)}].push_back(int(pos));
  }
  return [sets](int layer, int kv_head) {
    auto it = sets->find({layer, kv_head});
    return it == sets->end() ? std::vector<int>{} : it->second;
  };
}

KeptSetProvider kept_sets_from_engine(const DumpReader& /*dump*/, const std::string& policy,
                                      const std::string& budget, int /*block*/) {
  // Wire-up point for the replay engine: return a provider that replays
  // `policy` at `budget` on the layer's context and reports its final kept set.
  throw UsageError("--policy " + policy + " --budget " + budget +
                   ": kept sets from the replay engine are not wired into `analyze` yet; "
                   "pass them as a CSV with --kept FILE (columns layer,kv_head,position)");
}

}  // namespace kvsim::analysis
