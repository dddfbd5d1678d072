#include "policies/kernels/selection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kvsim {

namespace {
double finite_max(const std::vector<double>& v, double init) {
  double m = init;
  for (double x : v)
    if (std::isfinite(x)) m = std::max(m, x);
  return m;
}
}  // namespace

void apply_protections(const KeptSet& cand, Scores& scores, int sinks, int recent,
                       int processed_end) {
  if (sinks <= 0 && recent <= 0) return;
  double mx = -std::numeric_limits<double>::infinity();
  for (const auto& s : scores) mx = finite_max(s, mx);
  if (!std::isfinite(mx)) mx = 0.0;
  const double top = mx + 1.0;
  const int recent_begin = processed_end - recent;
  for (std::size_t g = 0; g < cand.size(); ++g)
    for (std::size_t i = 0; i < cand[g].size(); ++i) {
      const int p = cand[g][i];
      if (p < sinks || (recent > 0 && p >= recent_begin)) scores[g][i] = top;
    }
}

void protect_indices(std::vector<double>& scores, const std::vector<int>& indices) {
  double mx = finite_max(scores, -std::numeric_limits<double>::infinity());
  if (!std::isfinite(mx)) mx = 0.0;
  for (int i : indices) scores[i] = mx + 1.0;
}

namespace {
// Strict "ranks before" order: higher score first, ties -> later position; NaN last.
struct Ranked {
  double score;
  int pos;
  int head;
};
inline bool ranks_before(const Ranked& a, const Ranked& b) {
  const bool an = std::isnan(a.score), bn = std::isnan(b.score);
  if (an != bn) return bn;
  if (!an && a.score != b.score) return a.score > b.score;
  if (a.pos != b.pos) return a.pos > b.pos;
  return a.head > b.head;
}
}  // namespace

std::vector<int> select_top(const std::vector<int>& cand, const std::vector<double>& scores, int n) {
  const int m = static_cast<int>(cand.size());
  if (n >= m) return cand;
  if (n <= 0) return {};
  std::vector<Ranked> r(m);
  for (int i = 0; i < m; ++i) r[i] = {scores[i], cand[i], 0};
  std::nth_element(r.begin(), r.begin() + (n - 1), r.end(), ranks_before);
  std::vector<int> out(n);
  for (int i = 0; i < n; ++i) out[i] = r[i].pos;
  std::sort(out.begin(), out.end());
  return out;
}

KeptSet select_pooled(const KeptSet& cand, const Scores& scores, long total, int floor_per_head) {
  const int G = static_cast<int>(cand.size());
  KeptSet out(G);
  long total_cand = 0;
  for (const auto& c : cand) total_cand += static_cast<long>(c.size());
  if (total >= total_cand) return cand;
  std::vector<Ranked> rest;
  rest.reserve(total_cand);
  long used = 0;
  for (int g = 0; g < G; ++g) {
    const int m = static_cast<int>(cand[g].size());
    std::vector<Ranked> r(m);
    for (int i = 0; i < m; ++i) r[i] = {scores[g][i], cand[g][i], g};
    std::sort(r.begin(), r.end(), ranks_before);
    const int f = std::min(m, std::max(0, floor_per_head));
    for (int i = 0; i < f; ++i) out[g].push_back(r[i].pos);
    used += f;
    rest.insert(rest.end(), r.begin() + f, r.end());
  }
  const long extra = std::max(0L, std::min<long>(total - used, static_cast<long>(rest.size())));
  if (extra > 0) {
    std::nth_element(rest.begin(), rest.begin() + (extra - 1), rest.end(), ranks_before);
    for (long i = 0; i < extra; ++i) out[rest[i].head].push_back(rest[i].pos);
  }
  for (auto& v : out) std::sort(v.begin(), v.end());
  return out;
}

}  // namespace kvsim
