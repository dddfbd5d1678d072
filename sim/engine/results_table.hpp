#pragma once
// A finished sweep as text: results.csv and the summary table on stdout.
#include <string>

#include "sim/engine/sweep.hpp"

namespace kvsim {

// Outputs (DESIGN §6). results.csv: dump,policy,budget,budget_ratio,block,layer,head,metric,value
// `dump_label`: io/dump_label.hpp, the same in every CSV.
std::string results_csv(const SweepResult& result, const std::string& dump_label);
// policy x budget -> mean attn_recall, mean head_out_err, mean layer_out_err.
std::string summary_table(const SweepResult& result);

}  // namespace kvsim
