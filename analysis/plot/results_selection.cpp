#include "analysis/plot/results_selection.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "io/errors.hpp"

namespace kvsim::plot {

namespace {

template <class T>
std::string join(const std::set<T>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_same_v<T, std::string>)
      out += v;
    else
      out += std::to_string(v);
  }
  return out;
}

std::string find_model(const nlohmann::json& j) {
  if (j.is_object()) {
    auto it = j.find("model");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
    for (const auto& [key, value] : j.items()) {
      std::string m = find_model(value);
      if (!m.empty()) return m;
    }
  } else if (j.is_array()) {
    for (const auto& value : j) {
      std::string m = find_model(value);
      if (!m.empty()) return m;
    }
  }
  return "";
}

}  // namespace

std::vector<ResultRow> select_results(const analysis::CsvTable& t, const ResultsFilter& f) {
  const std::size_t c_dump = t.column("dump"), c_policy = t.column("policy"),
                    c_budget = t.column("budget"), c_ratio = t.column("budget_ratio"),
                    c_block = t.column("block"), c_layer = t.column("layer"),
                    c_head = t.column("head"), c_metric = t.column("metric"),
                    c_value = t.column("value");
  std::vector<ResultRow> rows;
  std::set<std::string> dumps;
  std::set<int> blocks;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.text(r, c_metric) != f.metric) continue;
    const int head = static_cast<int>(t.number(r, c_head));
    if (f.layer_level != (head < 0)) continue;
    ResultRow row;
    row.dump = t.text(r, c_dump);
    row.block = static_cast<int>(t.number(r, c_block));
    if (f.dump && row.dump != *f.dump) continue;
    if (f.block && row.block != *f.block) continue;
    row.policy = t.text(r, c_policy);
    row.budget = static_cast<int>(t.number(r, c_budget));
    row.budget_ratio = t.number(r, c_ratio);
    row.layer = static_cast<int>(t.number(r, c_layer));
    row.head = head;
    row.value = t.number(r, c_value);
    dumps.insert(row.dump);
    blocks.insert(row.block);
    rows.push_back(std::move(row));
  }
  if (rows.empty())
    throw InputError(t.path() + ": no " + (f.layer_level ? "layer-level (head -1) " : "per-head ") +
                     "rows with metric '" + f.metric + "'" +
                     (f.dump ? " for dump '" + *f.dump + "'" : "") +
                     (f.block ? " at block " + std::to_string(*f.block) : ""));
  if (dumps.size() > 1)
    throw UsageError(t.path() + " holds several dumps (" + join(dumps) + "); choose one with --dump");
  if (blocks.size() > 1)
    throw UsageError(t.path() + " holds several block sizes (" + join(blocks) +
                     "); choose one with --block");
  return rows;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

Spread spread(const std::vector<double>& values) {
  Spread s;
  s.n = values.size();
  if (values.empty()) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / values.size();
  s.p5 = quantile(values, 0.05);
  s.p95 = quantile(values, 0.95);
  return s;
}

CurveTable curves_by_policy(const std::vector<ResultRow>& rows) {
  std::map<std::string, std::map<double, std::vector<double>>> grouped;
  for (const auto& r : rows) grouped[r.policy][r.budget_ratio].push_back(r.value);
  CurveTable out;
  for (const auto& [policy, by_budget] : grouped)
    for (const auto& [ratio, values] : by_budget) out[policy][ratio] = spread(values);
  return out;
}

std::string dump_and_model(const std::string& dump, const std::string& model) {
  if (model.empty() || model == dump) return dump;
  return dump + " · " + model;
}

std::string model_beside(const std::string& csv_path) {
  const auto dir = std::filesystem::path(csv_path).parent_path();
  for (const char* name : {"run.json", "analyze.json"}) {
    std::ifstream in(dir / name);
    if (!in) continue;
    try {
      const std::string m = find_model(nlohmann::json::parse(in));
      if (!m.empty()) return m;
    } catch (const nlohmann::json::exception&) {
      // a broken sidecar only costs the title its model name
    }
  }
  return "";
}

}  // namespace kvsim::plot
