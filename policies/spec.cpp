// Policy specs: "name:k=v,k=v" parsing and validation against the registry.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "io/errors.hpp"
#include "policies/policy.hpp"

namespace kvsim {

namespace {
std::string format_plain(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The position of the ')' closing the '(' at `open`, or npos.
std::size_t closing_paren(const std::string& text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && --depth == 0) return i;
  }
  return std::string::npos;
}
}  // namespace

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

double PolicyParams::get_double(const std::string& key, double lo, double hi) const {
  const std::string& s = get(key);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  // strtod also reads hex, inf and nan: a parameter is a plain decimal number
  if (s.empty() || *end != '\0' || !std::isfinite(v) || s.find_first_of("xXpPnNiI") != std::string::npos)
    throw UsageError(policy + ":" + key + "=" + s + ": expected a decimal number");
  if (v < lo || v > hi)
    throw UsageError(policy + ":" + key + "=" + s + ": out of range [" + format_plain(lo) + ", " + format_plain(hi) +
                     "]");
  return v;
}

std::string PolicySpec::label() const {
  std::string s = name;
  if (inner) s += "(" + inner->label() + ")";
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
  // "name(inner)[:params]": an allocator around its inner policy
  const auto colon0 = text.find(':'), open = text.find('(');
  std::string params_text;
  bool has_params = false;
  if (open != std::string::npos && (colon0 == std::string::npos || open < colon0)) {
    spec.name = text.substr(0, open);
    const auto close = closing_paren(text, open);
    if (close == std::string::npos) throw UsageError(text + ": unbalanced '(' in the policy");
    const std::string rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':')
      throw UsageError(text + ": after " + spec.name + "(...) come its parameters as :key=value");
    has_params = !rest.empty();
    params_text = has_params ? rest.substr(1) : "";
    const std::string inner_text = text.substr(open + 1, close - open - 1);
    if (inner_text.empty()) throw UsageError(text + ": " + spec.name + "() names no policy to wrap");
    spec.inner = std::make_shared<PolicySpec>(parse_policy_spec(inner_text));
  } else {
    spec.name = text.substr(0, colon0);
    has_params = colon0 != std::string::npos;
    params_text = has_params ? text.substr(colon0 + 1) : "";
  }
  if (spec.name.find_first_of("()") != std::string::npos || text.find(')') < open)
    throw UsageError(text + ": unbalanced ')' in the policy");
  const PolicyInfo& info = find_policy(spec.name);
  if (spec.inner && !info.wrap)
  {
    std::string wrappers;
    for (const auto& p : policy_registry())
      if (p.wrap) wrappers += (wrappers.empty() ? "" : ", ") + p.name;
    throw UsageError(spec.name + " wraps no policy (policies that wrap one: " + wrappers + ")");
  }
  if (!spec.inner && info.wrap) {
    if (info.default_inner.empty())
      throw UsageError(spec.name + " wraps a scorer and has no default one: write " + spec.name + "(snapkv)");
    spec.inner = std::make_shared<PolicySpec>(parse_policy_spec(info.default_inner));
  }
  spec.params.policy = spec.name;
  for (const auto& p : info.params) spec.params.values[p.name] = p.default_value;
  if (has_params) {
    std::stringstream ss(params_text);
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
  make_policy(spec);  // validates ranges (UsageError naming the parameter)
  return spec;
}

std::vector<PolicySpec> parse_policy_list(const std::string& text) {
  std::vector<PolicySpec> out;
  if (text == "all") {
    for (const auto& p : policy_registry())
      if (p.in_all) out.push_back(parse_policy_spec(p.name));
    return out;
  }
  // Split on ';' and ',' outside parentheses, re-attaching "k=v" items (no
  // ':') to the previous policy.
  auto split_top = [](const std::string& t, char sep) {
    std::vector<std::string> parts(1);
    int depth = 0;
    for (char ch : t) {
      depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
      if (ch == sep && depth == 0)
        parts.emplace_back();
      else
        parts.back() += ch;
    }
    return parts;
  };
  std::vector<std::string> items;
  for (const std::string& part : split_top(text, ';')) {
    bool first_in_part = true;
    for (const std::string& item : split_top(part, ',')) {
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
  for (const auto& it : items) {
    if (it == "all") {  // "all,chunkkv,simlayerkv": the equal-memory set and more
      const auto every = parse_policy_list("all");
      out.insert(out.end(), every.begin(), every.end());
    } else {
      out.push_back(parse_policy_spec(it));
    }
  }
  return out;
}

std::unique_ptr<Policy> make_policy(const PolicySpec& spec) {
  const PolicyInfo& info = find_policy(spec.name);
  if (info.wrap) {
    if (!spec.inner) throw std::logic_error("allocator spec without its inner policy");
    return info.wrap(spec.params, make_policy(*spec.inner));
  }
  return info.make(spec.params);
}

}  // namespace kvsim
