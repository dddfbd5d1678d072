#pragma once
// What a finished unit of work is (the rows of one (policy, budget, layer))
// and where it goes as soon as it is done, so that an interrupted or failed
// run can be resumed without recomputing it (sim/run/journal.hpp).
#include <string>
#include <vector>

namespace kvsim {

struct MetricRow {
  int item, layer, head, metric;
  double value;
};

// A (layer, KV head) unit dropped because its data is not finite (--allow-nonfinite).
struct SkippedUnit {
  int layer, kv_head;
  std::string reason;  // where the first non-finite value is
};

// The finished results of one (policy, budget, layer) unit.
struct UnitRecord {
  std::vector<MetricRow> rows;       // this unit's rows (item field ignored by stores)
  std::vector<SkippedUnit> skipped;  // the layer's skipped KV heads
};

// Where finished units go as soon as they are done, so that an interrupted or
// failed sweep can be resumed without recomputing them (sim/run/journal.hpp).
class UnitStore {
 public:
  virtual ~UnitStore() = default;
  virtual bool load(int item, int layer, UnitRecord& out) const = 0;  // false: not finished
  virtual void save(int item, int layer, const UnitRecord& unit) = 0;
};

}  // namespace kvsim
