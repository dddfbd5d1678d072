#include "analysis/corpus_correlation.hpp"

#include <cmath>
#include <map>
#include <sstream>
#include <tuple>
#include <vector>

#include "analysis/bootstrap.hpp"
#include "analysis/tidy_csv.hpp"

namespace kvsim::analysis {

std::string correlation_corpus_csv(const std::string& path, std::uint64_t seed) {
  const auto t = CsvTable::read(path);
  t.require_columns({"dump", "score", "layer", "head", "metric", "value"});
  const auto c_dump = t.column("dump"), c_score = t.column("score"), c_layer = t.column("layer"),
             c_head = t.column("head"), c_metric = t.column("metric"), c_value = t.column("value");
  using Key = std::tuple<std::string, int, std::string>;  // score, layer, metric
  // dump order as first seen; per dump: key -> (sum, count) over heads
  std::vector<std::string> dumps;
  std::map<std::string, std::map<Key, std::pair<double, int>>> per_dump;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.number(r, c_head) < 0) continue;  // a dump's own summaries over heads: recomputed here
    const double v = t.number(r, c_value);
    const std::string& dump = t.text(r, c_dump);
    if (!per_dump.count(dump)) dumps.push_back(dump);
    auto& acc = per_dump[dump][{t.text(r, c_score), int(t.number(r, c_layer)), t.text(r, c_metric)}];
    if (!std::isfinite(v)) continue;
    acc.first += v;
    acc.second += 1;
  }
  std::map<Key, std::vector<double>> values;
  for (const auto& dump : dumps) {
    std::map<Key, std::pair<double, int>> all_layers;
    for (const auto& [key, acc] : per_dump[dump]) {
      if (acc.second == 0) continue;
      const double mean = acc.first / acc.second;
      values[key].push_back(mean);
      auto& all = all_layers[{std::get<0>(key), -1, std::get<2>(key)}];
      all.first += mean;
      all.second += 1;
    }
    for (const auto& [key, acc] : all_layers) values[key].push_back(acc.first / acc.second);
  }
  std::ostringstream os;
  os << kCorrelationCorpusHeader << "\n";
  std::uint64_t stream = 0;
  for (const auto& [key, vals] : values) {
    const MeanWithInterval m = bootstrap_mean(vals, seed + 0x9E3779B97F4A7C15ULL * ++stream);
    os << csv_field(std::get<0>(key)) << "," << std::get<1>(key) << "," << csv_field(std::get<2>(key)) << "," << m.n
       << "," << format_number(m.mean) << "," << format_number(m.sd) << "," << format_number(m.ci_lo) << ","
       << format_number(m.ci_hi) << "\n";
  }
  return os.str();
}

}  // namespace kvsim::analysis
