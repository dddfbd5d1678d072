#pragma once
// Budgets as typed on the command line: a token count or a ratio of the context.
#include <string>
#include <vector>

namespace kvsim {

// --budget 2048 (tokens) or --budget 0.25 (ratio of the context, N = floor(0.25 C)).
struct BudgetSpec {
  std::string text;
  double value = 0;
  bool ratio = false;
  int tokens(int context_len) const;
  static BudgetSpec parse(const std::string& text);  // UsageError naming --budget
};
std::vector<BudgetSpec> parse_budget_list(const std::string& text);

}  // namespace kvsim
