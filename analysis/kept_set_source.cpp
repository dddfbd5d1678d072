#include "analysis/kept_set_source.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"
#include "io/kept_sets_file.hpp"

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

KeptSets kept_sets_from_kept_file(const std::string& path, const DumpAttrs& attrs, int context_len, int item) {
  auto file = std::make_shared<KeptSetsFile>(read_kept_sets_file(path));
  if (file->n_kv_heads != attrs.n_kv_heads || file->context_len != context_len)
    throw InputError(path + ": kept sets of " + std::to_string(file->n_kv_heads) + " KV heads over a context of " +
                     std::to_string(file->context_len) + " tokens, but the dump has " +
                     std::to_string(attrs.n_kv_heads) + " KV heads and a context of " + std::to_string(context_len) +
                     " (a kept.h5 of another dump or --window?)");
  const int n = static_cast<int>(file->items.size());
  if (item < 0 && n == 1) item = 0;
  if (item < 0 || item >= n) {
    std::string list;
    for (int i = 0; i < n; ++i)
      list += (i ? ", " : "") + std::to_string(i) + " = " + file->items[i].policy + " at " +
              std::to_string(file->items[i].budget_tokens);
    throw UsageError("--kept-item: " + (item < 0 ? std::string("the file holds ") + std::to_string(n) + " items; choose one"
                                                : std::to_string(item) + " is not an item of " + path) +
                     " (" + (list.empty() ? std::string("none") : list) + ")");
  }
  const KeptSetsItem& chosen = file->items[item];
  KeptSets out;
  out.policy = chosen.policy;
  out.budget = std::to_string(chosen.budget_tokens);
  out.positions = [file, item, path](int layer, int kv_head) {
    const KeptSetsItem& it = file->items[item];
    for (std::size_t l = 0; l < it.layers.size(); ++l)
      if (it.layers[l] == layer) return it.kept[l].at(kv_head);
    throw InputError(path + ": item " + std::to_string(item) + " has no kept sets for layer " + std::to_string(layer) +
                     " (the run that wrote it replayed other --layers)");
  };
  return out;
}

}  // namespace kvsim::analysis
