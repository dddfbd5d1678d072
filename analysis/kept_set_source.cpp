#include "analysis/kept_set_source.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"

namespace kvsim::analysis {

KeptSetProvider kept_sets_from_csv(const std::string& path, const DumpAttrs& attrs) {
  const CsvTable table = CsvTable::read(path);
  const std::size_t c_layer = table.column("layer"), c_head = table.column("kv_head"),
                    c_pos = table.column("position");
  auto sets = std::make_shared<std::map<std::pair<int, int>, std::vector<int>>>();
  std::set<std::tuple<int, int, int>> seen;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const double layer = table.number(r, c_layer), head = table.number(r, c_head),
                 pos = table.number(r, c_pos);
    const std::string where = path + ": line " + std::to_string(table.line(r)) + ": ";
    if (layer != std::floor(layer) || head != std::floor(head) || pos != std::floor(pos) ||
        pos < 0 || layer < 0 || head < 0 || pos > 2e9)
      throw InputError(where + "layer, kv_head and position must be non-negative integers");
    if (layer >= attrs.n_layers)
      throw InputError(where + "layer " + std::to_string(int(layer)) + " is not a layer of the dump (n_layers=" +
                       std::to_string(attrs.n_layers) + ")");
    if (head >= attrs.n_kv_heads)
      throw InputError(where + "kv_head " + std::to_string(int(head)) + " is not a KV head of the dump (n_kv_heads=" +
                       std::to_string(attrs.n_kv_heads) + ")");
    if (!seen.insert({int(layer), int(head), int(pos)}).second)
      throw InputError(where + "position " + std::to_string(int(pos)) + " of layer " + std::to_string(int(layer)) +
                       ", kv_head " + std::to_string(int(head)) + " is listed twice");
    (*sets)[{int(layer), int(head)}].push_back(int(pos));
  }
  return [sets](int layer, int kv_head) {
    auto it = sets->find({layer, kv_head});
    return it == sets->end() ? std::vector<int>{} : it->second;
  };
}

}  // namespace kvsim::analysis
