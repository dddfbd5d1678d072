// chunkkv — ChunkKV's chunk-level selection around any scorer (Liu et al.,
// "ChunkKV: Semantic-Preserving KV Cache Compression for Efficient
// Long-Context LLM Inference", arXiv 2502.00299; kvpress ChunkKVPress,
// kvpress/presses/chunkkv_press.py). The candidates, in position order, are
// cut into chunks of chunk_length (the last may be shorter); a chunk scores
// the mean over its tokens of the inner scores summed over the KV heads; the
// best max(1, floor(n_chunks * N / n_candidates)) chunks are kept whole, the
// same chunks for every KV head (ties: the later chunk). With no complete
// chunk the inner policy selects alone, as kvpress delegates. The kept count
// is whole chunks, not N (results.csv's kept_fraction shows it).
#include <algorithm>
#include <numeric>

#include "policies/allocator.hpp"

namespace kvsim {
namespace {

class ChunkKvPolicy : public AllocatorPolicy {
 public:
  ChunkKvPolicy(std::unique_ptr<Policy> inner, int chunk_length)
      : AllocatorPolicy("chunkkv", std::move(inner)), chunk_(chunk_length) {
    if (AllocatorPolicy::pooling() != Pooling::per_head || AllocatorPolicy::selects_itself())
      throw UsageError("chunkkv: wrap a per-head scorer (its chunks are shared by every KV head; a pooled or "
                       "chunked inner policy has its own selection)");
  }
  bool selects_itself() const override { return true; }
  bool select_kept(const KeptSet& cand, const Scores& scores, int budget, KeptSet& out) const override {
    const auto& pos = cand.at(0);
    for (const auto& c : cand)
      if (c != pos) throw std::logic_error("chunkkv: KV heads with different candidates");
    const int n = static_cast<int>(pos.size());
    const int complete = n / chunk_, rest = n % chunk_;
    if (complete == 0) return false;  // kvpress: the inner press compresses alone
    const int chunks = complete + (rest > 0);
    std::vector<double> score(chunks, 0.0);
    for (int c = 0; c < chunks; ++c) {
      const int begin = c * chunk_, end = std::min(n, begin + chunk_);
      double sum = 0;
      for (const auto& s : scores)
        for (int i = begin; i < end; ++i) sum += s[i];
      score[c] = sum / (end - begin);
    }
    const int keep = std::max(1, static_cast<int>(static_cast<long>(chunks) * budget / n));
    std::vector<int> order(chunks);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] != score[b] ? score[a] > score[b] : a > b; });
    std::vector<int> chosen(order.begin(), order.begin() + std::min(keep, chunks));
    std::sort(chosen.begin(), chosen.end());
    std::vector<int> kept;
    for (int c : chosen)
      for (int i = c * chunk_; i < std::min(n, (c + 1) * chunk_); ++i) kept.push_back(pos[i]);
    out.assign(cand.size(), kept);
    return true;
  }
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    std::vector<Caveat> out = AllocatorPolicy::caveats(budget, block, geom);
    const int C = geom.C, chunks = (C + chunk_ - 1) / chunk_;
    const int keep = std::max(1, static_cast<int>(static_cast<long>(chunks) * budget / std::max(1, C)));
    if (C >= chunk_ && keep * chunk_ != budget)
      out.push_back({"chunkkv_whole_chunks",
                     "keeps " + std::to_string(keep) + " whole chunks of " + std::to_string(chunk_) +
                         " tokens one-shot (" + std::to_string(keep * chunk_) +
                         " tokens, fewer if the short last chunk is one of them), not N per KV head; "
                         "kept_fraction in results.csv gives the count"});
    return out;
  }

 private:
  int chunk_;
};

}  // namespace

PolicyInfo chunkkv_policy_info() {
  // not in --policies all: whole chunks, its memory is not N (at small budgets max(1, .) keeps more)
  return wrapper_info("chunkkv",
                      "chunk-level selection: whole chunks of chunk_length by the mean of the inner scores, the same "
                      "chunks for every KV head; wraps any per-head scorer: chunkkv(snapkv)",
                      {{"chunk_length", "20", "tokens per chunk"}},
                      {"snapkv", false},
                      [](const PolicyParams& p, std::unique_ptr<Policy> inner) -> std::unique_ptr<Policy> {
                        return std::make_unique<ChunkKvPolicy>(std::move(inner), p.get_int("chunk_length", 1, 1 << 30));
                      });
}

}  // namespace kvsim
