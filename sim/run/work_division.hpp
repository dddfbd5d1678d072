#pragma once
// Which MPI rank computes which work unit of a corpus sweep. A unit is one
// (dump, layer) with every policy and budget of the sweep (a dump whose
// sweep pools model-wide is one unit: its pre-pass needs every layer).
// Units are assigned before the run, longest first, each to the rank with the
// least predicted work so far (LPT scheduling: within 4/3 of the optimum).
// Every unit runs the same policies, so units differ by their dump's shape:
// the predicted cost is that of the causal attention a unit computes,
// H·d·T² per layer (T = tokens of the dump). Deterministic: the same corpus
// and world size give the same assignment on every rank.
#include <vector>

namespace kvsim {

struct WorkUnit {
  int dump = 0;
  int layer = -1;      // -1: every layer of the dump
  double cost = 0;     // predicted, in units of H·d·T² multiply-adds
};

struct WorkDivision {
  std::vector<int> owner;             // [unit] rank
  std::vector<double> predicted_load;  // [rank] sum of its units' costs
  std::vector<int> units_per_rank;     // [rank]
};

WorkDivision divide_work(const std::vector<WorkUnit>& units, int ranks);

}  // namespace kvsim
