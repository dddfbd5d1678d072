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

LayerMetrics compute_metrics(const FutureAttention& fa, const LayerTensors& x, const KeptSet& kept,
                             const TopNSets* topn, bool recall_only) {
  const auto& geom = fa.geom;
  const int H = geom.H, G = geom.G, r = geom.r, d = geom.d, T = geom.T, C = geom.C, W = geom.W();
  const int Hd = H * d;
  LayerMetrics m;
  m.attn_recall.assign(H, 0.0);
  m.topk_recall.assign(H, 0.0);
  m.head_out_err.assign(H, 0.0);
  m.kept_fraction.assign(G, 0.0);
  const bool want_y = fa.has_y && !recall_only;
  std::vector<float> delta;  // (W x Hd): o - ô for every head, for M5
  if (want_y) delta.assign(std::size_t(W) * Hd, 0.f);

  parallel_for(G, [&](int g) {
    const std::vector<int>& S = kept[g];
    const int nk = static_cast<int>(S.size());
    m.kept_fraction[g] = double(nk) / C;
    const bool use_kept = nk <= C - nk;
    std::vector<int> idx;
    if (use_kept) {
      idx = S;
    } else {
      std::vector<char> in(C, 0);
      for (int p : S) in[p] = 1;
      for (int p = 0; p < C; ++p)
        if (!in[p]) idx.push_back(p);
    }
    const int ni = static_cast<int>(idx.size());
    const int rW = r * W;
    const float* Pg = fa.P[g].data();
    // Gather the columns idx of P (rW x ni) and rows idx of V (ni x d).
    std::vector<double> mass(rW, 0.0);
    std::vector<float> E;
    if (!recall_only) {
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
        mass[row] = s;
      }
      E.assign(std::size_t(rW) * d, 0.f);
      sgemm_nn(rW, d, ni, Psub.data(), ni, Vsub.data(), d, E.data(), d);
    } else {
      for (int row = 0; row < rW; ++row) {
        const float* p = Pg + std::size_t(row) * T;
        double s = 0;
        for (int j = 0; j < ni; ++j) s += p[idx[j]];
        mass[row] = s;
      }
    }
    std::vector<double> o(d), oh(d);
    for (int hi = 0; hi < r; ++hi) {
      const int h = g * r + hi;
      double rec = 0, err = 0, topk = 0;
      for (int i = 0; i < W; ++i) {
        const int row = hi * W + i;
        const std::size_t hw = std::size_t(h) * W + i;
        const double tot = fa.total[hw];
        const double den = use_kept ? fa.fut_mass[hw] + mass[row] : tot - mass[row];
        rec += den / tot;
        if (topn && topn->n > 0) {
          const float* p = Pg + std::size_t(row) * T;
          int hit = 0;
          for (int j : S) hit += in_topn(*topn, x, geom, h, i, j, p[j]);
          topk += double(hit) / topn->n;
        } else if (topn) {
          topk += 1.0;
        }
        if (recall_only) continue;
        const float* oa = fa.o_all.data() + hw * d;
        const float* of = fa.o_fut.data() + hw * d;
        const float* e = &E[std::size_t(row) * d];
        double on = 0, dn = 0;
        for (int c = 0; c < d; ++c) {
          o[c] = oa[c] / tot;
          const double num = use_kept ? double(of[c]) + e[c] : double(oa[c]) - e[c];
          oh[c] = den > 0 ? num / den : 0.0;
          const double dc = o[c] - oh[c];
          on += o[c] * o[c];
          dn += dc * dc;
          if (want_y) delta[std::size_t(i) * Hd + std::size_t(h) * d + c] = static_cast<float>(dc);
        }
        err += on > 0 ? std::sqrt(dn / on) : 0.0;
      }
      m.attn_recall[h] = rec / W;
      m.topk_recall[h] = topk / W;
      m.head_out_err[h] = err / W;
    }
  });
  if (want_y) {
    const int D = geom.D;
    std::vector<float> yd(std::size_t(W) * D);
    sgemm_nt(W, D, Hd, delta.data(), Hd, x.o_proj->data(), Hd, yd.data(), D);
    double acc = 0;
    for (int i = 0; i < W; ++i) {
      double s = 0;
      for (int c = 0; c < D; ++c) s += double(yd[std::size_t(i) * D + c]) * yd[std::size_t(i) * D + c];
      acc += fa.y_norm[i] > 0 ? std::sqrt(s) / fa.y_norm[i] : 0.0;
    }
    m.has_layer_err = true;
    m.layer_out_err = acc / W;
  }
  return m;
}

}  // namespace kvsim
