#pragma once
// The resume journal of a sweep: DIR/partial/ holds progress.json (a
// fingerprint of the run: dump identity, policies, budgets, options, layers)
// and one small file per finished (dump, policy, budget, layer) unit with its rows
// in exact (hex-float) form, each written atomically the moment the unit is
// done. A resumed run loads those units instead of recomputing them and
// assembles results.csv in canonical order, byte-identical to an
// uninterrupted run; the journal is removed once results.csv is written.
#include <nlohmann/json.hpp>
#include <string>

#include "sim/run/unit_store.hpp"

namespace kvsim {

class SweepJournal {
 public:
  // resume = false: refuses (UsageError) to overwrite the finished units of an
  //   earlier interrupted run; resume = true: an existing journal must have the
  //   same fingerprint (UsageError naming the first difference otherwise).
  // Nothing is written until the first unit is saved.
  SweepJournal(const std::string& out_dir, nlohmann::json fingerprint, bool resume);
  // An MPI rank other than 0 joins the journal rank 0 opened (and checked)
  // before the barrier: it cleans and checks nothing, since rank 0 may
  // already be writing units (a leftover-temporary sweep here once deleted
  // rank 0's half-written unit under it).
  struct Join {};
  SweepJournal(const std::string& out_dir, nlohmann::json fingerprint, Join);

  // Units are keyed by the dump's index in the corpus, the item and the layer.
  bool load(int dump, int item, int layer, UnitRecord& out) const;
  void save(int dump, int item, int layer, const UnitRecord& unit);

  long units_on_disk() const;  // finished units the journal holds now
  const std::string& dir() const { return dir_; }
  void remove();  // the run's outputs are complete: drop the journal

  // Test hook (environment): KVSIM_TEST_FAIL_AFTER_UNITS=n makes save() throw
  // right after the n-th unit of this process is stored, simulating a crash.
  static constexpr const char* kFailAfterEnv = "KVSIM_TEST_FAIL_AFTER_UNITS";
  // KVSIM_TEST_UNIT_DELAY_MS=ms sleeps after each stored unit, so that tests
  // can deliver a real signal in the middle of a tiny sweep.
  static constexpr const char* kDelayEnv = "KVSIM_TEST_UNIT_DELAY_MS";

 private:
  void read_test_hooks();  // KVSIM_TEST_FAIL_AFTER_UNITS, the delay hook
  std::string unit_path(int dump, int item, int layer) const;
  std::string dir_;
  nlohmann::json fingerprint_;
  bool started_ = false;  // progress.json written
  long saved_ = 0, fail_after_ = -1, delay_ms_ = 0;
};

// The journal's units of one dump, as the sweep engine stores them.
class DumpJournal : public UnitStore {
 public:
  DumpJournal(SweepJournal& journal, int dump) : journal_(journal), dump_(dump) {}
  bool load(int item, int layer, UnitRecord& out) const override { return journal_.load(dump_, item, layer, out); }
  void save(int item, int layer, const UnitRecord& unit) override { journal_.save(dump_, item, layer, unit); }

 private:
  SweepJournal& journal_;
  int dump_;
};

}  // namespace kvsim
