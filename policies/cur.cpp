// cur (CurDKV, arXiv 2509.15038; kvpress CURPress, cur_press.py):
// query-free approximate leverage scores. Per candidate (position order)
// k2 = ||k_j||^2 and v2 = ||v_j||^2; with the local approximation each is
// divided by its sum over consecutive windows of local_window_size candidates;
// the score is k2, v2, their mean or their product (leverage_type), divided by
// its sum over the candidates; the first num_sinks candidates score 1. A sum
// of 0 gives 0 (kvpress: 0/0 = nan).
// kvpress's use_random_leverage (an unseeded Gaussian projection) is not
// offered: its kept sets are not reproducible.
#include <algorithm>
#include <string>

#include "io/errors.hpp"
#include "policies/policy.hpp"

namespace kvsim {
namespace {
enum class Leverage { key, value, kv_avg, kv_product };

class CurPolicy : public Policy {
 public:
  CurPolicy(int num_sinks, Leverage type, bool local, int window)
      : num_sinks_(num_sinks), type_(type), local_(local), window_(window) {}

  void score(const StepContext& ctx, Scores& out) override {
    out.assign(ctx.cand.size(), {});
    for (std::size_t g = 0; g < ctx.cand.size(); ++g) score_head(ctx, static_cast<int>(g), out[g]);
  }

 private:
  void score_head(const StepContext& ctx, int g, std::vector<double>& s) const {
    const std::vector<int>& cand = ctx.cand[g];
    const int n = static_cast<int>(cand.size());
    std::vector<double> k2 = squared_norms(ctx, ctx.x.k, g), v2 = squared_norms(ctx, ctx.x.v, g);
    if (local_) {
      normalise_windows(k2);
      normalise_windows(v2);
    }
    s.resize(n);
    for (int i = 0; i < n; ++i) {
      switch (type_) {
        case Leverage::key: s[i] = k2[i]; break;
        case Leverage::value: s[i] = v2[i]; break;
        case Leverage::kv_avg: s[i] = (k2[i] + v2[i]) / 2; break;
        case Leverage::kv_product: s[i] = k2[i] * v2[i]; break;
      }
    }
    divide_by_sum(0, n, s);
    for (int i = 0; i < std::min(num_sinks_, n); ++i) s[i] = 1.0;
  }

  static std::vector<double> squared_norms(const StepContext& ctx, const Tensor3& states, int g) {
    const int d = ctx.geom.d, T = ctx.geom.T;
    const float* base = states.data() + std::size_t(g) * T * d;
    std::vector<double> out;
    out.reserve(ctx.cand[g].size());
    for (int p : ctx.cand[g]) {
      const float* row = base + std::size_t(p) * d;
      double ss = 0;
      for (int c = 0; c < d; ++c) ss += double(row[c]) * row[c];
      out.push_back(ss);
    }
    return out;
  }

  void normalise_windows(std::vector<double>& x) const {
    const int n = static_cast<int>(x.size());
    for (int b = 0; b < n; b += window_) divide_by_sum(b, std::min(n, b + window_), x);
  }

  // kvpress divides unguarded: a range whose norms are all 0 gives nan; here
  // it gives 0 (no leverage), as keydiff takes k/||k|| := 0 for a zero key.
  static void divide_by_sum(int begin, int end, std::vector<double>& x) {
    double sum = 0;
    for (int i = begin; i < end; ++i) sum += x[i];
    for (int i = begin; i < end; ++i) x[i] = sum > 0 ? x[i] / sum : 0.0;
  }

  int num_sinks_;
  Leverage type_;
  bool local_;
  int window_;
};

Leverage parse_leverage(const std::string& text) {
  if (text == "key") return Leverage::key;
  if (text == "value") return Leverage::value;
  if (text == "kv_avg") return Leverage::kv_avg;
  if (text == "kv_product") return Leverage::kv_product;
  throw UsageError("cur:leverage_type=" + text + ": must be key, value, kv_avg or kv_product");
}
}  // namespace

PolicyInfo cur_policy_info() {
  return {"cur", "approximate leverage scores of keys and values (CurDKV); sinks kept",
          {{"num_sinks", "4", "attention-sink tokens kept at the start"},
           {"leverage_type", "kv_product", "key, value, kv_avg or kv_product"},
           {"use_local_approximation", "1", "1: normalise the norms within windows of local_window_size"},
           {"local_window_size", "16", "window of the local approximation"}},
          [](const PolicyParams& p) {
            return std::make_unique<CurPolicy>(p.get_int("num_sinks", 0, 1 << 30), parse_leverage(p.get("leverage_type")),
                                               p.get_int("use_local_approximation", 0, 1) == 1,
                                               p.get_int("local_window_size", 1, 1 << 30));
          }};
}
}  // namespace kvsim
