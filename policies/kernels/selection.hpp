#pragma once
// Choosing what stays: protections and top-N selection over candidates
// (per head, and pooled over several heads with a per-head floor).
#include <vector>

#include "io/layer_geometry.hpp"

namespace kvsim {

using Scores = std::vector<std::vector<double>>;  // [G][index into cand[g]]

// Shared protections (DESIGN §2): candidates with position < sinks or
// >= processed_end - recent get score max+1 over all heads' scores.
void apply_protections(const KeptSet& cand, Scores& scores, int sinks, int recent,
                       int processed_end);
// Sets the given candidate indices of one head to (max over that head)+1
// (used by policies for their own protected tokens: snapkv window, tova last token).
void protect_indices(std::vector<double>& scores, const std::vector<int>& indices);

// Top n of (cand, scores) by score, ties -> later position; NaN ranks lowest.
// Returns positions sorted ascending.
std::vector<int> select_top(const std::vector<int>& cand, const std::vector<double>& scores, int n);

// Pooled selection over several heads: each head keeps its top
// min(floor_per_head, n_h) first, then the remaining total - sum(floors) go to
// the highest remaining scores over all heads (ties: later position, then
// higher head index). Returns positions per head, sorted.
KeptSet select_pooled(const KeptSet& cand, const Scores& scores, long total, int floor_per_head);

}  // namespace kvsim
