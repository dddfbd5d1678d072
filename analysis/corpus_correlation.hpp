#pragma once
// `analyze --correlation` on a corpus: does the per-head correlation between
// a key score (KeyDiff distinctiveness, K-norm) and the attention a key
// receives survive across prompts? Each dump contributes one value per
// (score, layer, metric): the mean of its per-head rows' finite values
// (head >= 0; its own head -1 summaries are not reused) (layer −1: the
// mean of its per-layer values); correlation_corpus.csv gives, over dumps, the
// mean, standard deviation and 95% percentile bootstrap interval
// (analysis/bootstrap.hpp).
#include <cstdint>
#include <string>

namespace kvsim::analysis {

inline constexpr const char* kCorrelationCorpusFile = "correlation_corpus.csv";
inline constexpr const char* kCorrelationCorpusHeader = "score,layer,metric,n_dumps,mean,sd,ci_lo,ci_hi";

// From a correlation.csv holding every dump's rows (columns dump, score,
// layer, head, metric, value; InputError naming the file otherwise).
std::string correlation_corpus_csv(const std::string& correlation_csv_path, std::uint64_t seed);

}  // namespace kvsim::analysis
