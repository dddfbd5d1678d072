#include "sim/run/warnings.hpp"

#include "io/errors.hpp"

namespace kvsim {

bool WarningLog::add(Warning w) {
  for (const auto& have : list_)
    if (have.code == w.code && have.message == w.message) return false;
  list_.push_back(std::move(w));
  return true;
}

void WarningLog::add_all(const WarningLog& other) {
  for (const auto& w : other.list_) add(w);
}

void WarningLog::print(std::ostream& out, const std::string& command) const {
  for (const auto& w : list_) out << "kvsim " << command << ": warning: " << one_line(w.message) << "\n";
}

nlohmann::json WarningLog::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : list_) {
    nlohmann::json j = {{"code", w.code}, {"message", w.message}};
    if (!w.option.empty()) j["option"] = w.option;
    if (!w.policy.empty()) j["policy"] = w.policy;
    if (w.budget >= 0) j["budget"] = w.budget;
    if (w.layer >= 0) j["layer"] = w.layer;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace kvsim
