// Policy specs: "name:k=v,k=v" parsing and validation against the registry.
#include <algorithm>
#include <sstream>

#include "io/errors.hpp"
#include "policies/policy.hpp"

namespace kvsim {

const std::string& PolicyParams::get(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) throw UsageError(policy + ": no parameter '" + key + "'");
  return it->second;
}

int PolicyParams::get_int(const std::string& key, int lo, int hi) const {
  const std::string& s = get(key);
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0')
    throw UsageError(policy + ":" + key + "=" + s + ": expected an integer");
  if (v < lo || v > hi)
    throw UsageError(policy + ":" + key + "=" + s + ": out of range [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return static_cast<int>(v);
}

std::string PolicySpec::label() const {
  std::string s = name;
  for (std::size_t i = 0; i < given.size(); ++i)
    s += (i ? "," : ":") + given[i].first + "=" + given[i].second;
  return s;
}

std::string policy_names() {
  std::string s;
  for (const auto& p : policy_registry()) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

const PolicyInfo& find_policy(const std::string& name) {
  for (const auto& p : policy_registry())
    if (p.name == name) return p;
  throw UsageError("unknown policy '" + name + "'; valid policies: " + policy_names());
}

PolicySpec parse_policy_spec(const std::string& text) {
  PolicySpec spec;
  const auto colon = text.find(':');
  spec.name = text.substr(0, colon);
  const PolicyInfo& info = find_policy(spec.name);
  spec.params.policy = spec.name;
  for (const auto& p : info.params) spec.params.values[p.name] = p.default_value;
  if (colon != std::string::npos) {
    std::stringstream ss(text.substr(colon + 1));
    std::string kv;
    while (std::getline(ss, kv, ',')) {
      if (kv.empty()) continue;
      const auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError(spec.name + ": parameter '" + kv + "' is not of the form key=value");
      const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
      if (!spec.params.values.count(key)) {
        std::string valid;
        for (const auto& p : info.params) valid += (valid.empty() ? "" : ", ") + p.name;
        throw UsageError(spec.name + ": unknown parameter '" + key + "' (valid: " +
                         (valid.empty() ? std::string("none") : valid) + ")");
      }
      for (const auto& [given_key, given_value] : spec.given)
        if (given_key == key)
          throw UsageError(spec.name + ": parameter '" + key + "' is given twice (" + key + "=" +
                           given_value + ", " + kv + "); give it once");
      spec.params.values[key] = value;
      spec.given.emplace_back(key, value);
    }
  }
  info.make(spec.params);  // validates ranges (UsageError naming the parameter)
  return spec;
}

std::vector<PolicySpec> parse_policy_list(const std::string& text) {
  std::vector<PolicySpec> out;
  if (text == "all") {
    for (const auto& p : policy_registry()) out.push_back(parse_policy_spec(p.name));
    return out;
  }
  // Split on ';' and ',', re-attaching "k=v" items (no ':') to the previous policy.
  std::vector<std::string> items;
  std::string cur;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ';')) {
    std::stringstream s2(part);
    std::string item;
    bool first_in_part = true;
    while (std::getline(s2, item, ',')) {
      if (item.empty()) continue;
      const bool continues = item.find('=') != std::string::npos &&
                             item.find(':') == std::string::npos && !first_in_part && !items.empty();
      if (continues)
        items.back() += "," + item;
      else
        items.push_back(item);
      first_in_part = false;
    }
  }
  if (items.empty()) throw UsageError("--policies: empty list");
  for (const auto& it : items) out.push_back(parse_policy_spec(it));
  return out;
}

std::unique_ptr<Policy> make_policy(const PolicySpec& spec) {
  return find_policy(spec.name).make(spec.params);
}

}  // namespace kvsim
