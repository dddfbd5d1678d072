#pragma once
// A finished sweep as text: results.csv and the summary table on stdout.
#include <string>

#include "analysis/corpus_aggregate.hpp"
#include "sim/engine/sweep.hpp"

namespace kvsim {

// Outputs (DESIGN §6). results.csv: dump,policy,budget,budget_ratio,block,layer,head,metric,value
// `dump_label`: io/dump_label.hpp, the same in every CSV.
std::string results_csv(const SweepResult& result, const std::string& dump_label);
inline constexpr const char* kResultsHeader = "dump,policy,budget,budget_ratio,block,layer,head,metric,value";
// The rows without the header: a corpus's results.csv is the header, then
// each dump's rows in corpus order.
std::string results_csv_rows(const SweepResult& result, const std::string& dump_label);
// One dump's contribution to aggregate.csv (analysis/corpus_aggregate.hpp):
// per (item, layer, metric) the mean of its finite rows, and per (item,
// metric) the mean of those per-layer values as layer -1.
void add_to_aggregate(const SweepResult& result, analysis::CorpusAggregate& aggregate);
// policy x budget -> mean attn_recall, mean head_out_err, mean layer_out_err.
std::string summary_table(const SweepResult& result);

}  // namespace kvsim
