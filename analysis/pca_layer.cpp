#include "analysis/pca_layer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/attention_received.hpp"
#include "analysis/key_scores.hpp"

namespace kvsim::analysis {

namespace {

KeptSetStats kept_set_stats(const Matrix& context_keys, const std::vector<int>& positions) {
  KeptSetStats s;
  s.n_kept = positions.size();
  const Matrix kept_keys = select_rows(context_keys, positions);
  s.effective_rank = positions.size() >= 2 ? key_pca(kept_keys).effective_rank()
                                           : std::numeric_limits<double>::quiet_NaN();
  s.mean_pairwise_cosine = mean_pairwise_cosine(kept_keys);
  return s;
}

}  // namespace

std::vector<HeadPca> pca_layer(const Tensor3& q, const Tensor3& k, int context_len, double scale,
                               int layer, const KeptSetProvider* kept) {
  const int G = static_cast<int>(k.shape(0));
  const Matrix received = group_mean(attention_received_by_context(q, k, context_len, scale), G);
  std::vector<HeadPca> heads(G);
  for (int g = 0; g < G; ++g) {
    HeadPca& out = heads[g];
    out.layer = layer;
    out.kv_head = g;
    const Matrix keys = head_rows(k, g, context_len);
    out.pca = key_pca(keys);
    out.mean_pairwise_cosine = mean_pairwise_cosine(keys);
    out.coords = out.pca.project_top2(keys);
    out.attention.assign(received.data() + static_cast<std::size_t>(g) * context_len,
                         received.data() + static_cast<std::size_t>(g + 1) * context_len);
    const auto neg_norm = negative_key_norm(keys);
    out.key_norm.resize(neg_norm.size());
    std::transform(neg_norm.begin(), neg_norm.end(), out.key_norm.begin(),
                   [](double v) { return -v; });
    if (kept && *kept) {
      std::vector<int> positions = (*kept)(layer, g);
      std::sort(positions.begin(), positions.end());
      positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
      out.kept_stats = kept_set_stats(keys, positions);  // validates the range
      std::vector<bool> flags(context_len, false);
      for (int p : positions) flags[p] = true;
      out.kept = std::move(flags);
    }
  }
  return heads;
}

}  // namespace kvsim::analysis
