#include "analysis/corpus_aggregate.hpp"

#include <sstream>

#include "analysis/bootstrap.hpp"
#include "analysis/tidy_csv.hpp"
#include "policies/kernels/parallel_for.hpp"

namespace kvsim::analysis {

namespace {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::uint64_t key_seed(std::uint64_t seed, const AggregateKey& k) {
  std::uint64_t h = splitmix64(seed);
  for (const int v : {k.item, k.layer, k.metric}) h = splitmix64(h ^ static_cast<std::uint64_t>(std::int64_t(v)));
  return h;
}
}  // namespace

std::string CorpusAggregate::csv(const std::vector<AggregateItem>& items, const std::vector<std::string>& metric_names,
                                 std::uint64_t seed) const {
  // Each key has its own seed, so computing the keys in parallel (the
  // bootstrap is most of this step: 2000 resamples per key) gives the bytes
  // of a serial run.
  std::vector<const std::pair<const AggregateKey, std::vector<double>>*> entries;
  for (const auto& entry : values_) entries.push_back(&entry);
  std::vector<MeanWithInterval> means(entries.size());
  parallel_for(static_cast<int>(entries.size()),
               [&](int i) { means[i] = bootstrap_mean(entries[i]->second, key_seed(seed, entries[i]->first)); });
  std::ostringstream os;
  os << kAggregateHeader << "\n";
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const AggregateKey& key = entries[e]->first;
    const AggregateItem& it = items.at(key.item);
    const MeanWithInterval& m = means[e];
    os << csv_field(it.policy) << "," << csv_field(it.budget) << "," << it.block << "," << key.layer << ","
       << csv_field(metric_names.at(key.metric)) << "," << m.n << "," << format_number(m.mean) << ","
       << format_number(m.sd) << "," << format_number(m.ci_lo) << "," << format_number(m.ci_hi) << "\n";
  }
  return os.str();
}

}  // namespace kvsim::analysis
