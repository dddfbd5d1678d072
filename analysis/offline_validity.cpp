#include "analysis/offline_validity.hpp"

#include <cmath>
#include <sstream>

#include "analysis/rank_statistics.hpp"
#include "analysis/tidy_csv.hpp"

namespace kvsim::analysis {

std::string validity_csv(const std::map<std::pair<std::string, int>, std::vector<double>>& offline,
                         const std::vector<double>& kl) {
  std::ostringstream os;
  os << kValidityHeader << "\n";
  for (const auto& [key, values] : offline) {
    std::vector<double> x, y;
    for (std::size_t i = 0; i < values.size() && i < kl.size(); ++i)
      if (std::isfinite(values[i]) && std::isfinite(kl[i])) {
        x.push_back(values[i]);
        y.push_back(kl[i]);
      }
    os << csv_field(key.first) << "," << key.second << "," << x.size() << "," << format_number(spearman(x, y)) << ","
       << format_number(pearson(x, y)) << "\n";
  }
  return os.str();
}

}  // namespace kvsim::analysis
