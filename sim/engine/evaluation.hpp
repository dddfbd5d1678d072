#pragma once
// kvsim evaluate's core, shared with the notebooks: the model's own run over
// the tokens gives the tensors; the replay engine picks every (policy,
// budget)'s kept sets on them and measures the offline metrics; the
// remaining tokens then run teacher-forced with each compressed cache beside
// the full one (docs/EVALUATE.md).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/next_token_divergence.hpp"
#include "io/kept_sets_file.hpp"
#include "io/model/model_weights.hpp"
#include "sim/engine/sweep.hpp"

namespace kvsim {

struct Evaluation {
  SweepResult offline;  // results rows and kept sets of every item
  std::vector<analysis::NextTokenDivergence> divergence;  // [item]
  std::vector<char> keeps_all;  // [item] full, or a budget >= C: the full cache itself
  int context_len = 0, future_len = 0;
  std::vector<int> next;  // [row] token that followed position C + row (-1: none)

  // Mean KL per item; NaN for items that keep everything (no test of a metric).
  std::vector<double> mean_kl_of_compressing_items() const;
  // Item-level means of the offline metrics, per layer and over all layers (-1).
  std::map<std::pair<std::string, int>, std::vector<double>> offline_means() const;
  // evaluate.csv: policy,budget,budget_ratio,block,position,metric,value
  std::string evaluate_csv() const;
};

// `spec.keep_sets` is set here. InputError unless 1 <= context_len <= T - 2.
Evaluation evaluate_compression(const LoadedModel& model, const std::vector<int>& tokens, int context_len,
                                SweepSpec spec);

// Given kept sets (a kept.h5 written by sweep --save-kept on a dump of these
// tokens): the continuations only; `offline` holds the items and kept sets,
// no rows. InputError when the file's context or KV heads differ from the
// model's and `context_len`, or it lacks a layer.
Evaluation evaluate_kept_sets(const LoadedModel& model, const std::vector<int>& tokens, int context_len,
                              const KeptSetsFile& kept);

}  // namespace kvsim
