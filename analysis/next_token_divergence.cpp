#include "analysis/next_token_divergence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace kvsim::analysis {

namespace {
// log-softmax of one row, in double
void log_softmax(const float* logits, int vocab, std::vector<double>& out) {
  out.resize(vocab);
  const double top = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int v = 0; v < vocab; ++v) sum += std::exp(double(logits[v]) - top);
  const double log_z = top + std::log(sum);
  for (int v = 0; v < vocab; ++v) out[v] = double(logits[v]) - log_z;
}
}  // namespace

NextTokenDivergence next_token_divergence(const std::vector<float>& full, const std::vector<float>& compressed,
                                          int rows, int vocab, const std::vector<int>& next) {
  const std::size_t n = static_cast<std::size_t>(rows) * vocab;
  if (full.size() != n || compressed.size() != n || next.size() != static_cast<std::size_t>(rows))
    throw std::logic_error("next_token_divergence: shapes");
  NextTokenDivergence out;
  std::vector<double> lp, lq;
  for (int r = 0; r < rows; ++r) {
    const float* f = full.data() + std::size_t(r) * vocab;
    const float* c = compressed.data() + std::size_t(r) * vocab;
    log_softmax(f, vocab, lp);
    log_softmax(c, vocab, lq);
    double kl = 0;
    for (int v = 0; v < vocab; ++v)
      if (lp[v] > -std::numeric_limits<double>::infinity()) kl += std::exp(lp[v]) * (lp[v] - lq[v]);
    out.kl.push_back(std::max(0.0, kl));  // rounding can leave -1e-17 where the rows are equal up to a bit
    out.top1_agree.push_back(std::max_element(f, f + vocab) - f == std::max_element(c, c + vocab) - c ? 1.0 : 0.0);
    out.delta_logp.push_back(next[r] >= 0 ? lq[next[r]] - lp[next[r]] : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

}  // namespace kvsim::analysis
