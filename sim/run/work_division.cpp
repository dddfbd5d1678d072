#include "sim/run/work_division.hpp"

#include <algorithm>
#include <numeric>

namespace kvsim {

WorkDivision divide_work(const std::vector<WorkUnit>& units, int ranks) {
  WorkDivision d;
  d.owner.assign(units.size(), 0);
  d.predicted_load.assign(ranks, 0.0);
  d.units_per_rank.assign(ranks, 0);
  std::vector<std::size_t> order(units.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return units[a].cost > units[b].cost; });
  for (const std::size_t u : order) {
    const int r = static_cast<int>(std::min_element(d.predicted_load.begin(), d.predicted_load.end()) -
                                   d.predicted_load.begin());
    d.owner[u] = r;
    d.predicted_load[r] += units[u].cost;
    d.units_per_rank[r] += 1;
  }
  return d;
}

}  // namespace kvsim
