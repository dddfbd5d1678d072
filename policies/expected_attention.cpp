// expected_attention — the attention future queries are expected to pay
// (Devoto et al., "Expected Attention: KV Cache Compression by Estimating
// Attention from Future Queries Distribution", arXiv 2510.00636; kvpress
// ExpectedAttentionPress, kvpress/presses/expected_attention_press.py).
// Per query head, over the processed queries after the first n_sink
// positions: mean mu and covariance S (divided by n) of the pre-RoPE queries;
// R = the mean over the next n_future_positions positions p of the RoPE
// rotation R(p); mu' = R mu, S' = R S R^T. A candidate key k_j (post-RoPE)
// scores softmax_j( mu'.k_j / sqrt(d) + k_j^T S' k_j / (2d) ) over the
// non-sink candidates, mean over the KV head's query heads, times ||v_j||
// (use_vnorm, after adding epsilon); the first n_sink positions score the
// largest score of the layer's step. "Next positions" start at the end of
// what has been processed (the block end; the context end one-shot).
//
// The pre-RoPE queries are the dump's q_pre_rope when present, and the
// rotation (pairing and per-pair frequency, any scaling included) is read off
// q_pre_rope -> q at position 1. Without q_pre_rope the queries are rotated
// back from q with the dump's rope_theta, unscaled, pairs interleaved for a
// llama2.c source and split halves otherwise (docs/POLICIES.md).
#include <algorithm>
#include <cmath>
#include <limits>

#include "policies/allocator.hpp"
#include "policies/kernels/blas.hpp"
#include "policies/kernels/gqa.hpp"
#include "policies/kernels/parallel_for.hpp"

namespace kvsim {
namespace {

// The layer's RoPE: pair i rotates coordinates (a[i], b[i]) by angle p * omega[i].
struct RopeModel {
  std::vector<int> a, b;
  std::vector<double> omega;
};

RopeModel pairs_of(int d, bool interleaved) {
  RopeModel m;
  for (int i = 0; i < d / 2; ++i) {
    m.a.push_back(interleaved ? 2 * i : i);
    m.b.push_back(interleaved ? 2 * i + 1 : i + d / 2);
  }
  return m;
}

// How far pairing `m` is from preserving each pair's length from pre- to
// post-RoPE at position 1 (a rotation preserves it exactly).
double pairing_error(const RopeModel& m, const LayerTensors& x, const LayerGeom& geom) {
  double err = 0, scale = 0;
  for (int h = 0; h < geom.H; ++h)
    for (std::size_t i = 0; i < m.a.size(); ++i) {
      const double p0 = x.q_pre_rope.value()(h, 1, m.a[i]), p1 = x.q_pre_rope.value()(h, 1, m.b[i]);
      const double q0 = x.q(h, 1, m.a[i]), q1 = x.q(h, 1, m.b[i]);
      err += std::fabs(std::hypot(p0, p1) - std::hypot(q0, q1));
      scale += std::hypot(p0, p1);
    }
  return scale > 0 ? err / scale : 0;
}

RopeModel rope_model(const LayerTensors& x, const LayerGeom& geom) {
  const int d = geom.d;
  if (!x.q_pre_rope || geom.T < 2) {
    RopeModel m = pairs_of(d, geom.rope_interleaved);
    for (int i = 0; i < d / 2; ++i) m.omega.push_back(std::pow(geom.rope_theta, -2.0 * i / d));
    return m;
  }
  const RopeModel half = pairs_of(d, false), inter = pairs_of(d, true);
  const double e_half = pairing_error(half, x, geom), e_inter = pairing_error(inter, x, geom);
  RopeModel m = e_half <= e_inter ? half : inter;
  if (std::min(e_half, e_inter) > 1e-3)
    throw InputError("expected_attention: the dump's q is not a RoPE rotation of its q_pre_rope at position 1 "
                     "in either pairing (relative error " + std::to_string(std::min(e_half, e_inter)) + ")");
  for (std::size_t i = 0; i < m.a.size(); ++i) {
    // angle from pre to post at position 1, summed over the heads (norm-weighted)
    double cross = 0, dot = 0;
    for (int h = 0; h < geom.H; ++h) {
      const double p0 = (*x.q_pre_rope)(h, 1, m.a[i]), p1 = (*x.q_pre_rope)(h, 1, m.b[i]);
      const double q0 = x.q(h, 1, m.a[i]), q1 = x.q(h, 1, m.b[i]);
      cross += p0 * q1 - p1 * q0;
      dot += p0 * q0 + p1 * q1;
    }
    m.omega.push_back(std::atan2(cross, dot));
  }
  return m;
}

// Rotates (in place) one head's vector by angle sign * p * omega.
void rotate(const RopeModel& m, double* v, double p, double sign) {
  for (std::size_t i = 0; i < m.a.size(); ++i) {
    const double c = std::cos(p * m.omega[i]), s = sign * std::sin(p * m.omega[i]);
    const double x0 = v[m.a[i]], x1 = v[m.b[i]];
    v[m.a[i]] = x0 * c - x1 * s;
    v[m.b[i]] = x0 * s + x1 * c;
  }
}

class ExpectedAttentionPolicy : public Policy {
 public:
  ExpectedAttentionPolicy(int n_future, int n_sink, bool use_covariance, bool use_vnorm, double epsilon)
      : n_future_(n_future), n_sink_(n_sink), use_cov_(use_covariance), use_vnorm_(use_vnorm), epsilon_(epsilon) {}

  bool uses_q_pre_rope() const override { return true; }
  void prepare_layer(const LayerTensors& x, const LayerGeom& geom, LayerShared& shared) const override {
    if (!shared.get<RopeModel>()) shared.emplace(rope_model(x, geom));
  }
  void begin_layer(const StepContext& ctx) override {
    const int H = ctx.geom.H, d = ctx.geom.d;
    sum_.assign(std::size_t(H) * d, 0.0);
    sum2_.assign(std::size_t(H) * d * d, 0.0);
    seen_ = n_sink_;
    n_ = 0;
  }
  void score(const StepContext& ctx, Scores& out) override {
    const LayerGeom& geom = ctx.geom;
    const int d = geom.d, r = geom.r, e = ctx.block_end;
    const RopeModel& rope = *ctx.shared.get<RopeModel>();
    accumulate(ctx, rope);
    // mean rotation over the next n_future positions, per pair
    std::vector<double> cbar(rope.a.size(), 0), sbar(rope.a.size(), 0);
    for (std::size_t i = 0; i < rope.a.size(); ++i) {
      for (int p = e; p < e + n_future_; ++p) {
        cbar[i] += std::cos(p * rope.omega[i]);
        sbar[i] += std::sin(p * rope.omega[i]);
      }
      cbar[i] /= n_future_;
      sbar[i] /= n_future_;
    }
    std::vector<std::vector<double>> raw(ctx.cand.size());
    parallel_for(static_cast<int>(ctx.cand.size()), [&](int g) {
      const auto& cand = ctx.cand[g];
      const int n = static_cast<int>(cand.size());
      std::vector<float> keys(std::size_t(n) * d), y(std::size_t(n) * d), cov(std::size_t(d) * d);
      for (int j = 0; j < n; ++j)
        for (int c = 0; c < d; ++c) keys[std::size_t(j) * d + c] = ctx.x.k(g, cand[j], c);
      std::vector<std::vector<double>> per_head(r, std::vector<double>(n, 0.0));
      for (int hi = 0; hi < r; ++hi) {
        const int h = g * r + hi;
        std::vector<double> mu(d), S(std::size_t(d) * d);
        stats(h, d, rope, cbar, sbar, mu, S);
        for (std::size_t c = 0; c < S.size(); ++c) cov[c] = static_cast<float>(S[c]);
        if (use_cov_) sgemm_nn(n, d, d, keys.data(), d, cov.data(), d, y.data(), d);
        double top = -std::numeric_limits<double>::infinity();
        std::vector<double>& z = per_head[hi];
        for (int j = 0; j < n; ++j) {
          if (cand[j] < n_sink_) continue;
          double lin = 0, quad = 0;
          for (int c = 0; c < d; ++c) {
            lin += mu[c] * keys[std::size_t(j) * d + c];
            if (use_cov_) quad += double(y[std::size_t(j) * d + c]) * keys[std::size_t(j) * d + c];
          }
          z[j] = lin / std::sqrt(double(d)) + quad / d / 2;
          top = std::max(top, z[j]);
        }
        double total = 0;
        for (int j = 0; j < n; ++j)
          if (cand[j] >= n_sink_) total += (z[j] = std::exp(z[j] - top));
        for (int j = 0; j < n; ++j) z[j] = cand[j] >= n_sink_ ? z[j] / total : 0.0;
      }
      // mean over the group (kvpress averages; --gqa max is honoured too)
      reduce_group(per_head, ctx.gqa, raw[g]);
      for (int j = 0; j < n; ++j) {
        if (!use_vnorm_) break;
        double vn = 0;
        for (int c = 0; c < d; ++c) vn += double(ctx.x.v(g, cand[j], c)) * ctx.x.v(g, cand[j], c);
        raw[g][j] = (raw[g][j] + epsilon_) * std::sqrt(vn);
      }
    });
    // the sinks score the step's largest score (kvpress pads with scores.max())
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t g = 0; g < raw.size(); ++g)
      for (std::size_t j = 0; j < raw[g].size(); ++j)
        if (ctx.cand[g][j] >= n_sink_) top = std::max(top, raw[g][j]);
    for (std::size_t g = 0; g < raw.size(); ++g)
      for (std::size_t j = 0; j < raw[g].size(); ++j)
        if (ctx.cand[g][j] < n_sink_) raw[g][j] = std::isfinite(top) ? top : 0.0;
    out = std::move(raw);
  }

 private:
  // Adds the pre-RoPE queries of positions [seen_, block end) to the sums.
  void accumulate(const StepContext& ctx, const RopeModel& rope) {
    const int H = ctx.geom.H, d = ctx.geom.d, e = ctx.block_end;
    if (seen_ >= e) return;
    parallel_for(H, [&](int h) {
      std::vector<double> q(d);
      double* s1 = &sum_[std::size_t(h) * d];
      double* s2 = &sum2_[std::size_t(h) * d * d];
      for (int t = seen_; t < e; ++t) {
        for (int c = 0; c < d; ++c) q[c] = ctx.x.q_pre_rope ? (*ctx.x.q_pre_rope)(h, t, c) : ctx.x.q(h, t, c);
        if (!ctx.x.q_pre_rope) rotate(rope, q.data(), t, -1.0);
        for (int a = 0; a < d; ++a) {
          s1[a] += q[a];
          for (int b = 0; b < d; ++b) s2[std::size_t(a) * d + b] += q[a] * q[b];
        }
      }
    });
    n_ += e - seen_;
    seen_ = e;
  }
  // mu' = R mu and S' = R S R^T for query head h (R: the mean rotation).
  void stats(int h, int d, const RopeModel& rope, const std::vector<double>& cbar, const std::vector<double>& sbar,
             std::vector<double>& mu, std::vector<double>& S) const {
    const double n = std::max<long>(n_, 1);
    for (int a = 0; a < d; ++a) mu[a] = sum_[std::size_t(h) * d + a] / n;
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b)
        S[std::size_t(a) * d + b] = sum2_[(std::size_t(h) * d + a) * d + b] / n - mu[a] * mu[b];
    // R acts on each pair as [[c, -s], [s, c]]: rows of M := R M, columns of M := M R^T
    auto rows = [&](std::vector<double>& M, int cols) {
      for (std::size_t i = 0; i < rope.a.size(); ++i)
        for (int c = 0; c < cols; ++c) {
          double& x0 = M[std::size_t(rope.a[i]) * cols + c];
          double& x1 = M[std::size_t(rope.b[i]) * cols + c];
          const double u = x0, v = x1;
          x0 = cbar[i] * u - sbar[i] * v;
          x1 = sbar[i] * u + cbar[i] * v;
        }
    };
    rows(mu, 1);
    if (!use_cov_) return;
    rows(S, d);
    for (std::size_t i = 0; i < rope.a.size(); ++i)
      for (int row = 0; row < d; ++row) {
        double& x0 = S[std::size_t(row) * d + rope.a[i]];
        double& x1 = S[std::size_t(row) * d + rope.b[i]];
        const double u = x0, v = x1;
        x0 = cbar[i] * u - sbar[i] * v;
        x1 = sbar[i] * u + cbar[i] * v;
      }
  }

  int n_future_, n_sink_;
  bool use_cov_, use_vnorm_;
  double epsilon_;
  std::vector<double> sum_, sum2_;  // [H][d], [H][d][d] over the processed queries since n_sink
  int seen_ = 0;
  long n_ = 0;
};

}  // namespace

PolicyInfo expected_attention_policy_info() {
  return {"expected_attention",
          "attention expected from future queries: query mean/covariance (pre-RoPE) rotated to the next "
          "n_future_positions, softmax over keys, times ||v_j||; the first n_sink kept",
          {{"n_future_positions", "512", "future positions the mean rotation averages over"},
           {"n_sink", "4", "first positions kept (and left out of the query statistics)"},
           {"use_covariance", "1", "1: include k^T S k / (2d)"},
           {"use_vnorm", "1", "1: multiply by ||v_j||"},
           {"epsilon", "0", "added to the expected attention before the ||v_j|| rescaling"}},
          [](const PolicyParams& p) {
            return std::make_unique<ExpectedAttentionPolicy>(
                p.get_int("n_future_positions", 1, 1 << 24), p.get_int("n_sink", 0, 1 << 30),
                p.get_int("use_covariance", 0, 1) == 1, p.get_int("use_vnorm", 0, 1) == 1,
                p.get_double("epsilon", 0.0, 1e30));
          }};
}

}  // namespace kvsim
