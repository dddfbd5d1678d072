// finch — FINCH's question-guided selection (Corallo & Papotti, "FINCH:
// Prompt-guided Key-Value Cache Compression for Large Language Models", TACL
// 2024; kvpress FinchPress, kvpress/presses/finch_press.py, `score`). The
// observation window is the question that follows the context: the dump's
// question_len tokens [C, C + q) (kvsim capture --question-file records it).
// Each question query t attends over the candidates and the question keys up
// to itself (softmax over both); candidate j scores the mean over the
// question queries of A[t, j], each times the number of other keys t sees
// (normalize_scores: kvpress multiplies by arange(k_len - window, k_len)),
// then the mean over the KV head's query heads. finch reads queries at
// positions >= C: the question is part of the prompt when the cache is
// compressed, the only future queries a policy may see.
#include <algorithm>

#include "io/errors.hpp"
#include "policies/kernels/group_attention.hpp"
#include "policies/kernels/gqa.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/policy.hpp"

namespace kvsim {
namespace {

class FinchPolicy : public Policy {
 public:
  explicit FinchPolicy(bool normalize) : normalize_(normalize) {}
  void check(const LayerGeom& geom) const override {
    if (geom.question_len <= 0)
      throw UsageError("finch needs to know where the question is: the dump has no question_len attribute "
                       "(capture with --prompt-file and --question-file)");
  }
  void score(const StepContext& ctx, Scores& out) override {
    const LayerGeom& geom = ctx.geom;
    const int C = geom.C, q0 = C, q1 = C + geom.question_len, nq = q1 - q0, r = geom.r;
    out.assign(ctx.cand.size(), {});
    parallel_for(static_cast<int>(ctx.cand.size()), [&](int g) {
      const auto& cand = ctx.cand[g];
      const int n = static_cast<int>(cand.size());
      std::vector<int> keys = cand;  // candidates (< C), then the question's own keys
      for (int p = q0; p < q1; ++p) keys.push_back(p);
      std::vector<float> probs;
      group_attention(ctx.x, geom, g, q0, q1, keys, probs);
      const int nk = static_cast<int>(keys.size());
      std::vector<std::vector<double>> per_head(r, std::vector<double>(n, 0.0));
      for (int hi = 0; hi < r; ++hi)
        for (int i = 0; i < nq; ++i) {
          const int visible = n + i + 1;  // candidates and question keys q0 .. q0 + i
          const double weight = (normalize_ ? double(visible - 1) : 1.0) / nq;
          const float* row = &probs[(std::size_t(hi) * nq + i) * nk];
          for (int j = 0; j < n; ++j) per_head[hi][j] += row[j] * weight;
        }
      reduce_group(per_head, ctx.gqa, out[g]);
    });
  }

 private:
  bool normalize_;
};

}  // namespace

PolicyInfo finch_policy_info() {
  PolicyInfo info{"finch",
                  "question-aware: attention of the question's queries (the dump's question_len tokens after the "
                  "context) on each key, normalised by the keys each query sees; needs question_len",
                  {{"normalize_scores", "1", "1: weight each question query's attention by the keys it sees"}},
                  [](const PolicyParams& p) { return std::make_unique<FinchPolicy>(p.get_int("normalize_scores", 0, 1) == 1); }};
  info.in_all = false;  // runs only on dumps that record a question
  return info;
}

}  // namespace kvsim
