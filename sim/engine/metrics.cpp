#include "sim/engine/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>

#include "policies/kernels/blas.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "policies/kernels/selection.hpp"
#include "sim/engine/replay.hpp"

namespace kvsim {

namespace {
// s·q·k of query head h at future row i (position C + i) and context key j,
// exact enough to order logits that float32 probabilities cannot tell apart.
double exact_logit(const LayerTensors& x, const LayerGeom& g, int h, int i, int j) {
  const float* q = x.q.data() + (std::size_t(h) * g.T + g.C + i) * g.d;
  const float* k = x.k.data() + (std::size_t(g.kv_of(h)) * g.T + j) * g.d;
  double s = 0;
  for (int c = 0; c < g.d; ++c) s += double(q[c]) * double(k[c]);
  return double(g.scale) * s;
}

bool in_topn(const TopNSets& t, const LayerTensors& x, const LayerGeom& g, int h, int i, int j, float p) {
  const std::size_t hw = std::size_t(h) * g.W() + i;
  if (p != t.tau[hw]) return p > t.tau[hw];
  if (t.ltau[hw] == -std::numeric_limits<double>::infinity()) return true;
  const double l = exact_logit(x, g, h, i, j);
  return l > t.ltau[hw] || (l == t.ltau[hw] && j >= t.lcut[hw]);
}
}  // namespace

TopNSets compute_topn(const FutureAttention& fa, const LayerTensors& x, int budget) {
  const auto& g = fa.geom;
  const int H = g.H, W = g.W(), C = g.C;
  const double all = -std::numeric_limits<double>::infinity();
  TopNSets t;
  t.n = std::max(0, std::min(budget, C));
  t.tau.assign(std::size_t(H) * W, 0.f);
  t.ltau.assign(std::size_t(H) * W, all);
  t.lcut.assign(std::size_t(H) * W, 0);
  if (t.n >= C) {
    std::fill(t.tau.begin(), t.tau.end(), -std::numeric_limits<float>::infinity());
    return t;
  }
  if (t.n == 0) {
    std::fill(t.tau.begin(), t.tau.end(), std::numeric_limits<float>::infinity());
    return t;
  }
  parallel_for(H, [&](int h) {
    std::vector<float> tmp(C);
    std::vector<std::pair<double, int>> tied;  // (logit, position) of the entries equal to tau
    for (int i = 0; i < W; ++i) {
      const float* p = fa.row(h, i);
      std::copy(p, p + C, tmp.begin());
      std::nth_element(tmp.begin(), tmp.begin() + (t.n - 1), tmp.end(), std::greater<float>());
      const float tau = tmp[t.n - 1];
      int greater = 0;
      tied.clear();
      for (int j = 0; j < C; ++j) {
        greater += p[j] > tau;
        if (p[j] == tau) tied.emplace_back(0.0, j);
      }
      const std::size_t need = std::size_t(t.n - greater), hw = std::size_t(h) * W + i;
      t.tau[hw] = tau;
      if (need >= tied.size()) continue;  // every tied entry is in: ltau = -inf
      for (auto& e : tied) e.first = exact_logit(x, g, h, i, e.second);
      auto ranks_before = [](const std::pair<double, int>& a, const std::pair<double, int>& b) {
        return a.first != b.first ? a.first > b.first : a.second > b.second;
      };
      std::nth_element(tied.begin(), tied.begin() + (need - 1), tied.end(), ranks_before);
      t.ltau[hw] = tied[need - 1].first;
      t.lcut[hw] = tied[need - 1].second;
    }
  });
  return t;
}

KeptSet oracle_kept(const FutureAttention& fa, int budget) {
  const auto& g = fa.geom;
  if (budget >= g.C) return keep_everything(g);
  std::vector<int> all(g.C);
  std::iota(all.begin(), all.end(), 0);
  KeptSet out(g.G);
  for (int kv = 0; kv < g.G; ++kv) {
    std::vector<double> s(fa.oracle_score.begin() + std::size_t(kv) * g.C,
                          fa.oracle_score.begin() + std::size_t(kv + 1) * g.C);
    out[kv] = select_top(all, s, budget);
  }
  return out;
}

namespace {

// One KV group's kept set, seen from its smaller side: the kept positions S, or
// the evicted ones E when those are fewer (then ô is the full output minus E's part).
struct GroupSide {
  bool use_kept = true;
  std::vector<int> idx;  // positions of the side used
};
GroupSide smaller_side(const std::vector<int>& S, int C) {
  GroupSide side;
  const int nk = static_cast<int>(S.size());
  side.use_kept = nk <= C - nk;
  if (side.use_kept) {
    side.idx = S;
    return side;
  }
  std::vector<char> in(C, 0);
  for (int p : S) in[p] = 1;
  for (int p = 0; p < C; ++p)
    if (!in[p]) side.idx.push_back(p);
  return side;
}

// Per row (query head hi, future i) of the group: the attention mass on the
// side's positions, and (unless recall_only) E = P_side · V_side (rW x d),
// from the gathered columns of P and rows of V.
struct SideProducts {
  std::vector<double> mass;  // [r*W]
  std::vector<float> E;      // [r*W*d]
};
SideProducts side_products(const FutureAttention& fa, const LayerTensors& x, int g, const GroupSide& side,
                           bool recall_only) {
  const auto& geom = fa.geom;
  const int d = geom.d, T = geom.T, rW = geom.r * geom.W();
  const int ni = static_cast<int>(side.idx.size());
  const std::vector<int>& idx = side.idx;
  const float* Pg = fa.P[g].data();
  SideProducts out;
  out.mass.assign(rW, 0.0);
  if (recall_only) {
    for (int row = 0; row < rW; ++row) {
      const float* p = Pg + std::size_t(row) * T;
      double s = 0;
      for (int j = 0; j < ni; ++j) s += p[idx[j]];
      out.mass[row] = s;
    }
    return out;
  }
  std::vector<float> Psub(std::size_t(rW) * ni), Vsub(std::size_t(ni) * d);
  const float* V = x.v.data() + std::size_t(g) * T * d;
  for (int j = 0; j < ni; ++j)
    std::memcpy(Vsub.data() + std::size_t(j) * d, V + std::size_t(idx[j]) * d, sizeof(float) * d);
  for (int row = 0; row < rW; ++row) {
    const float* p = Pg + std::size_t(row) * T;
    float* dst = Psub.data() + std::size_t(row) * ni;  // ni may be 0: no element to reference
    double s = 0;
    for (int j = 0; j < ni; ++j) {
      dst[j] = p[idx[j]];
      s += dst[j];
    }
    out.mass[row] = s;
  }
  out.E.assign(std::size_t(rW) * d, 0.f);
  sgemm_nn(rW, d, ni, Psub.data(), ni, Vsub.data(), d, out.E.data(), d);
  return out;
}

// Attention mass of query head h's future row i on S_t = S ∪ [C, t].
double kept_mass(const FutureAttention& fa, const GroupSide& side, const SideProducts& sp, std::size_t hw,
                 int row) {
  return side.use_kept ? fa.fut_mass[hw] + sp.mass[row] : fa.total[hw] - sp.mass[row];
}

// M1: mean over future rows of the attention mass kept.
double attn_recall_of_head(const FutureAttention& fa, const GroupSide& side, const SideProducts& sp, int hi, int h) {
  const int W = fa.W();
  double rec = 0;
  for (int i = 0; i < W; ++i) {
    const std::size_t hw = std::size_t(h) * W + i;
    rec += kept_mass(fa, side, sp, hw, hi * W + i) / fa.total[hw];
  }
  return rec / W;
}

// M2: mean over future rows of |S ∩ TopN| / min(N, C).
double topk_recall_of_head(const FutureAttention& fa, const LayerTensors& x, const std::vector<int>& S,
                           const TopNSets& topn, int g, int hi, int h) {
  const auto& geom = fa.geom;
  const int W = geom.W();
  double topk = 0;
  for (int i = 0; i < W; ++i) {
    if (topn.n > 0) {
      const float* p = fa.P[g].data() + std::size_t(hi * W + i) * geom.T;
      int hit = 0;
      for (int j : S) hit += in_topn(topn, x, geom, h, i, j, p[j]);
      topk += double(hit) / topn.n;
    } else {
      topk += 1.0;
    }
  }
  return topk / W;
}

// M4: mean over future rows of ||o - ô|| / ||o||, ô renormalised on S_t. Also
// writes o - ô into delta (W x H*d) for M5 when delta is not null.
double head_out_err_of_head(const FutureAttention& fa, const GroupSide& side, const SideProducts& sp, int hi, int h,
                            float* delta) {
  const int W = fa.W(), d = fa.geom.d, Hd = fa.geom.H * d;
  double err = 0;
  for (int i = 0; i < W; ++i) {
    const int row = hi * W + i;
    const std::size_t hw = std::size_t(h) * W + i;
    const double tot = fa.total[hw];
    const double den = kept_mass(fa, side, sp, hw, row);
    const float* oa = fa.o_all.data() + hw * d;
    const float* of = fa.o_fut.data() + hw * d;
    const float* e = &sp.E[std::size_t(row) * d];
    double on = 0, dn = 0;
    for (int c = 0; c < d; ++c) {
      const double o = oa[c] / tot;
      const double num = side.use_kept ? double(of[c]) + e[c] : double(oa[c]) - e[c];
      const double oh = den > 0 ? num / den : 0.0;
      const double dc = o - oh;
      on += o * o;
      dn += dc * dc;
      if (delta) delta[std::size_t(i) * Hd + std::size_t(h) * d + c] = static_cast<float>(dc);
    }
    err += on > 0 ? std::sqrt(dn / on) : 0.0;
  }
  return err / W;
}

// M5: mean over future rows of ||W_o (o - ô)|| / ||y||, one GEMM for all heads.
double layer_out_err(const FutureAttention& fa, const LayerTensors& x, const std::vector<float>& delta) {
  const auto& geom = fa.geom;
  const int W = geom.W(), D = geom.D, Hd = geom.H * geom.d;
  std::vector<float> yd(std::size_t(W) * D);
  sgemm_nt_thread_invariant(W, D, Hd, delta.data(), Hd, x.o_proj->data(), Hd, yd.data(), D);
  double acc = 0;
  for (int i = 0; i < W; ++i) {
    double s = 0;
    for (int c = 0; c < D; ++c) s += double(yd[std::size_t(i) * D + c]) * yd[std::size_t(i) * D + c];
    acc += fa.y_norm[i] > 0 ? std::sqrt(s) / fa.y_norm[i] : 0.0;
  }
  return acc / W;
}

}  // namespace

LayerMetrics compute_metrics(const FutureAttention& fa, const LayerTensors& x, const KeptSet& kept,
                             const TopNSets* topn, bool recall_only) {
  const auto& geom = fa.geom;
  const int H = geom.H, G = geom.G, r = geom.r, C = geom.C;
  LayerMetrics m;
  m.attn_recall.assign(H, 0.0);
  m.topk_recall.assign(H, 0.0);
  m.head_out_err.assign(H, 0.0);
  m.kept_fraction.assign(G, 0.0);
  const bool want_y = fa.has_y && !recall_only;
  std::vector<float> delta;  // (W x H*d): o - ô for every head, for M5
  if (want_y) delta.assign(std::size_t(geom.W()) * H * geom.d, 0.f);

  parallel_for(G, [&](int g) {
    const std::vector<int>& S = kept[g];
    m.kept_fraction[g] = double(S.size()) / C;
    const GroupSide side = smaller_side(S, C);
    const SideProducts sp = side_products(fa, x, g, side, recall_only);
    for (int hi = 0; hi < r; ++hi) {
      const int h = g * r + hi;
      m.attn_recall[h] = attn_recall_of_head(fa, side, sp, hi, h);
      if (topn) m.topk_recall[h] = topk_recall_of_head(fa, x, S, *topn, g, hi, h);
      if (!recall_only) m.head_out_err[h] = head_out_err_of_head(fa, side, sp, hi, h, want_y ? delta.data() : nullptr);
    }
  });
  if (want_y) {
    m.has_layer_err = true;
    m.layer_out_err = layer_out_err(fa, x, delta);
  }
  return m;
}

}  // namespace kvsim
