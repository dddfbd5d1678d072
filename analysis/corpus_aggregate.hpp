#pragma once
// aggregate.csv: a corpus summarised per (policy, budget, block, layer,
// metric) across its dumps. Each dump contributes ONE value per key (its
// value: the mean over heads of its finite rows for that layer; layer −1 =
// the mean of its per-layer values), so a long dump or a wide model does not
// outweigh a short one; the mean, standard deviation and a 95% percentile
// bootstrap interval are taken over dumps (analysis/bootstrap.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace kvsim::analysis {

struct AggregateKey {
  int item, layer, metric;  // layer −1: all layers
  bool operator<(const AggregateKey& o) const {
    return std::tie(item, layer, metric) < std::tie(o.item, o.layer, o.metric);
  }
};

struct AggregateItem {
  std::string policy, budget;  // budget as given: tokens ("64") or ratio ("0.25")
  int block = 0;
};

class CorpusAggregate {
 public:
  // One dump's value for a key, added in dump order.
  void add(const AggregateKey& key, double dump_value) { values_[key].push_back(dump_value); }
  int keys() const { return static_cast<int>(values_.size()); }
  const std::map<AggregateKey, std::vector<double>>& values() const { return values_; }

  // The table, rows in key order (item, layer with −1 first, metric id);
  // `metric_names[id]`. Each key's bootstrap draws from its own stream,
  // derived from `seed` and the key, so adding a policy leaves the other
  // rows' intervals unchanged.
  std::string csv(const std::vector<AggregateItem>& items, const std::vector<std::string>& metric_names,
                  std::uint64_t seed) const;

 private:
  std::map<AggregateKey, std::vector<double>> values_;
};

inline const char* kAggregateHeader = "policy,budget,block,layer,metric,n_dumps,mean,sd,ci_lo,ci_hi";

}  // namespace kvsim::analysis
