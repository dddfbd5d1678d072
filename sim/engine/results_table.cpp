#include "sim/engine/results_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "analysis/tidy_csv.hpp"

namespace kvsim {

using analysis::csv_field;

namespace {
std::string fmt(double v, const char* f = "%.9g") {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
}  // namespace

std::string results_csv(const SweepResult& res, const std::string& dump_label) {
  return std::string(kResultsHeader) + "\n" + results_csv_rows(res, dump_label);
}

void add_to_aggregate(const SweepResult& res, analysis::CorpusAggregate& aggregate) {
  // (item, layer, metric) -> (sum, count) over finite rows
  std::map<analysis::AggregateKey, std::pair<double, int>> per_layer;
  for (const auto& r : res.rows) {
    if (!std::isfinite(r.value)) continue;
    auto& acc = per_layer[{r.item, r.layer, r.metric}];
    acc.first += r.value;
    acc.second += 1;
  }
  std::map<analysis::AggregateKey, std::pair<double, int>> all_layers;
  for (const auto& [key, acc] : per_layer) {
    const double value = acc.first / acc.second;
    aggregate.add(key, value);
    auto& all = all_layers[{key.item, -1, key.metric}];
    all.first += value;
    all.second += 1;
  }
  for (const auto& [key, acc] : all_layers) aggregate.add(key, acc.first / acc.second);
}

std::string results_csv_rows(const SweepResult& res, const std::string& dump_label) {
  std::ostringstream os;
  const std::string dump = csv_field(dump_label);
  std::vector<std::string> prefix;
  for (const auto& it : res.items)
    prefix.push_back(dump + "," + csv_field(it.policy_label) + "," + std::to_string(it.budget_tokens) +
                     "," + fmt(it.budget_ratio, "%.6g") + "," + std::to_string(it.block) + ",");
  for (const auto& r : res.rows)
    os << prefix[r.item] << r.layer << "," << r.head << "," << metric_name(r.metric) << ","
       << fmt(r.value) << "\n";
  return os.str();
}

std::string summary_table(const SweepResult& res) {
  const int n = static_cast<int>(res.items.size());
  std::vector<double> rec(n, 0), herr(n, 0), lerr(n, 0);
  std::vector<int> nrec(n, 0), nl(n, 0);
  for (const auto& r : res.rows) {
    if (r.head < 0 && r.metric == kLayerOutErr) {
      lerr[r.item] += r.value;
      nl[r.item]++;
    } else if (r.head >= 0 && r.metric == kAttnRecall) {
      rec[r.item] += r.value;
      nrec[r.item]++;
    } else if (r.head >= 0 && r.metric == kHeadOutErr) {
      herr[r.item] += r.value;
    }
  }
  std::size_t w = 6;
  for (const auto& it : res.items) w = std::max(w, it.policy_label.size());
  std::ostringstream os;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-*s %8s %7s %12s %13s %14s\n", int(w), "policy", "budget", "ratio",
                "attn_recall", "head_out_err", "layer_out_err");
  os << buf;
  for (int i = 0; i < n; ++i) {
    const auto& it = res.items[i];
    const std::string le = nl[i] ? fmt(lerr[i] / nl[i], "%.4f") : "n/a";
    std::snprintf(buf, sizeof buf, "%-*s %8d %7.3f %12.4f %13.4f %14s\n", int(w),
                  it.policy_label.c_str(), it.budget_tokens, it.budget_ratio,
                  nrec[i] ? rec[i] / nrec[i] : 0.0, nrec[i] ? herr[i] / nrec[i] : 0.0, le.c_str());
    os << buf;
  }
  return os.str();
}

}  // namespace kvsim
