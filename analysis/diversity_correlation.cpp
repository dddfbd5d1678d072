#include "analysis/diversity_correlation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "analysis/attention_received.hpp"
#include "analysis/key_scores.hpp"

namespace kvsim::analysis {

const ScoreCorrelation& HeadCorrelation::by_score(const std::string& score) const {
  if (score == kScoreKeyDiff) return keydiff;
  if (score == kScoreKNorm) return knorm;
  throw std::invalid_argument("unknown key score '" + score + "'");
}

ScoreCorrelation correlate(const std::vector<double>& x, const std::vector<double>& y, int n_bins) {
  ScoreCorrelation out;
  out.spearman_rho = spearman(x, y);
  out.pearson_r_log = pearson(x, guarded_log(y));
  out.bins = quantile_bins(x, y, n_bins);
  return out;
}

std::vector<HeadCorrelation> correlate_layer(const Tensor3& q, const Tensor3& k, int context_len,
                                             double scale, int layer, int n_bins) {
  const Matrix received = attention_received_by_context(q, k, context_len, scale);
  const int H = static_cast<int>(q.shape(0)), G = static_cast<int>(k.shape(0));
  const int group = H / G;
  std::vector<std::vector<double>> distinct(G), neg_norm(G);
  for (int g = 0; g < G; ++g) {
    const Matrix keys = head_rows(k, g, context_len);
    distinct[g] = keydiff_distinctiveness(keys);
    neg_norm[g] = negative_key_norm(keys);
  }
  std::vector<HeadCorrelation> heads(H);
  for (int h = 0; h < H; ++h) {
    const int g = h / group;
    std::vector<double> y(received.data() + static_cast<std::size_t>(h) * context_len,
                          received.data() + static_cast<std::size_t>(h + 1) * context_len);
    HeadCorrelation& row = heads[h];
    row.layer = layer;
    row.head = h;
    row.kv_head = g;
    row.n_keys = static_cast<std::size_t>(context_len);
    row.keydiff = correlate(distinct[g], y, n_bins);
    row.knorm = correlate(neg_norm[g], y, n_bins);
  }
  return heads;
}

CorrelationSummary summarize(const std::vector<HeadCorrelation>& heads, const std::string& score) {
  CorrelationSummary s;
  std::vector<double> rhos;
  double pearson_sum = 0;
  std::size_t pearson_n = 0;
  for (const auto& h : heads) {
    const auto& c = h.by_score(score);
    if (std::isfinite(c.spearman_rho)) rhos.push_back(c.spearman_rho);
    if (std::isfinite(c.pearson_r_log)) {
      pearson_sum += c.pearson_r_log;
      ++pearson_n;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.n_heads = heads.size();
  if (rhos.empty()) {
    s.mean_rho = s.median_rho = s.share_rho_positive = nan;
  } else {
    double sum = 0;
    std::size_t positive = 0;
    for (double r : rhos) {
      sum += r;
      positive += r > 0;
    }
    s.mean_rho = sum / rhos.size();
    s.share_rho_positive = double(positive) / rhos.size();
    std::sort(rhos.begin(), rhos.end());
    const std::size_t m = rhos.size() / 2;
    s.median_rho = rhos.size() % 2 ? rhos[m] : 0.5 * (rhos[m - 1] + rhos[m]);
  }
  s.mean_pearson_r_log = pearson_n ? pearson_sum / pearson_n : nan;

  if (!heads.empty()) {
    const std::size_t n_bins = heads.front().by_score(score).bins.size();
    s.bins.assign(n_bins, QuantileBin{});
    for (std::size_t b = 0; b < n_bins; ++b) {
      QuantileBin& out = s.bins[b];
      out.x_lo = std::numeric_limits<double>::infinity();
      out.x_hi = -std::numeric_limits<double>::infinity();
      std::size_t used = 0;
      for (const auto& h : heads) {
        const QuantileBin& in = h.by_score(score).bins.at(b);
        if (in.count == 0) continue;
        out.x_lo = std::min(out.x_lo, in.x_lo);
        out.x_hi = std::max(out.x_hi, in.x_hi);
        out.x_mean += in.x_mean;
        out.y_mean += in.y_mean;
        out.count += in.count;
        ++used;
      }
      if (used) {
        out.x_mean /= used;
        out.y_mean /= used;
      } else {
        out.x_lo = out.x_hi = out.x_mean = out.y_mean = nan;
      }
    }
  }
  return s;
}

}  // namespace kvsim::analysis
