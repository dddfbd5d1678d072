#include "sim/engine/budget.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "io/errors.hpp"

namespace kvsim {

int BudgetSpec::tokens(int context_len) const {
  if (ratio) return static_cast<int>(std::floor(value * context_len + 1e-9));
  return static_cast<int>(value);
}

namespace {
bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

// Grammar: a token count is decimal digits without a leading zero ("2048"); a
// ratio is a decimal fraction with digits after the point ("0.25", ".5",
// "1.0"). strtod's extras (sign, exponent, hex, inf/nan, leading blanks) are
// rejected: "0x10" would otherwise be 16 tokens and "1e3" a ratio of 1000.
BudgetSpec BudgetSpec::parse(const std::string& text) {
  BudgetSpec b;
  b.text = text;
  const std::string expected = "--budget '" + text +
                               "': expected a token count (e.g. 2048) or a ratio in (0, 1] (e.g. 0.25)";
  const auto point = text.find('.');
  if (point == std::string::npos) {
    if (!all_digits(text)) throw UsageError(expected);
    if (text.size() > 1 && text[0] == '0')
      throw UsageError("--budget '" + text + "': a token count is written without leading zeros");
    if (text.size() > 10 || std::stod(text) > 2e9) throw UsageError("--budget '" + text + "': bad token count");
    b.value = std::stod(text);
    if (b.value <= 0) throw UsageError(expected);
    b.ratio = false;
    return b;
  }
  const std::string whole = text.substr(0, point), fraction = text.substr(point + 1);
  if (!(whole.empty() || all_digits(whole)) || !all_digits(fraction)) throw UsageError(expected);
  b.value = std::strtod(text.c_str(), nullptr);
  if (b.value <= 0) throw UsageError(expected);
  if (b.value > 1.0)
    throw UsageError("--budget '" + text + "': a ratio must be in (0, 1]; token counts are integers");
  b.ratio = true;
  return b;
}

std::vector<BudgetSpec> parse_budget_list(const std::string& text) {
  std::vector<BudgetSpec> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    out.push_back(BudgetSpec::parse(item));
  }
  if (out.empty()) throw UsageError("--budgets: empty list");
  return out;
}

}  // namespace kvsim
