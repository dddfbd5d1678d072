#pragma once
// Warnings: a result that is correct but not what the user may think it is
// (a budget above the context, an option the dump makes irrelevant, a policy
// that degenerates at this budget). Each warning is printed once on stderr as
// `kvsim <cmd>: warning: <message>` and recorded in run.json under "warnings",
// so that a published number never hides its caveat.
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim {

struct Warning {
  std::string code;     // stable identifier for scripts, e.g. "budget_above_context"
  std::string message;  // one line, self-contained
  // What it applies to; empty / -1 when not applicable.
  std::string option;   // e.g. "--window"
  std::string policy;   // policy label
  int budget = -1;      // budget in tokens
  int layer = -1;
};

// An ordered set of warnings: adding one that is already there (same code and
// message) does nothing. Not thread-safe: add from serial code.
class WarningLog {
 public:
  bool add(Warning w);  // false: it was already there
  void add_all(const WarningLog& other);
  const std::vector<Warning>& all() const { return list_; }
  bool empty() const { return list_.empty(); }

  // "kvsim <command>: warning: <message>" lines.
  void print(std::ostream& out, const std::string& command) const;
  // [{"code", "message", and the context fields that are set}]
  nlohmann::json to_json() const;

 private:
  std::vector<Warning> list_;
};

}  // namespace kvsim
