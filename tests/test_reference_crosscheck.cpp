// Independent cross-check: a deliberately naive, loop-only, double-precision
// reference implementation of the replay protocol, every policy and the metrics
// M1/M4/M5 (test code only; it shares nothing with the engine except the
// random policy's hash stream, which defines that policy). It must agree with the
// engine on the kept sets and on M1/M4/M5 to 1e-5 on a small random dump.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "policies/kernels/hash_uniform.hpp"
#include "sim/engine/sweep.hpp"
#include "tests/engine_util.hpp"

namespace kvsim {
namespace {

constexpr int L = 2, H = 4, G = 2, R = 2, Dh = 8, T = 48, C = 40, D = 12;
constexpr double kScale = 0.3;

struct Ref {
  const std::vector<LayerTensors>& layers;
  int block, sinks, recent;
  std::uint64_t seed;

  double dot_qk(const LayerTensors& x, int h, int t, int j) const {
    double s = 0;
    for (int e = 0; e < Dh; ++e) s += double(x.q(h, t, e)) * double(x.k(h / R, j, e));
    return s * kScale;
  }
  // attention weights of (h, t) over `keys` (positions > t get 0)
  std::vector<double> attn(const LayerTensors& x, int h, int t, const std::vector<int>& keys) const {
    std::vector<double> a(keys.size(), 0.0);
    double mx = -1e300;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] <= t) mx = std::max(mx, dot_qk(x, h, t, keys[i]));
    double z = 0;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] <= t) a[i] = std::exp(dot_qk(x, h, t, keys[i]) - mx), z += a[i];
    for (auto& v : a) v /= z;
    return a;
  }
  // u = W_o^h v  (D-vector)
  std::vector<double> wv(const LayerTensors& x, int h, int j) const {
    std::vector<double> u(D, 0.0);
    for (int o = 0; o < D; ++o)
      for (int e = 0; e < Dh; ++e) u[o] += double((*x.o_proj)(o, h * Dh + e)) * x.v(h / R, j, e);
    return u;
  }

  // Scores of one step, [g][i]. `state` carries h2o's accumulators.
  struct H2O {
    std::map<std::pair<int, int>, double> acc;  // (h, pos)
    std::map<std::pair<int, int>, double> cnt;  // (g, pos)
  };
  double norm_y = 1;  // laprox model mode
  std::vector<std::vector<double>> score(const std::string& pol, const std::map<std::string, int>& prm,
                                         const LayerTensors& x, int layer, int bb, int be,
                                         const std::vector<std::vector<int>>& cand, H2O& st, bool gqa_max) {
    std::vector<std::vector<double>> s(G);
    auto reduce = [&](const std::vector<std::vector<double>>& ph, int n) {
      std::vector<double> out(n, gqa_max ? -1e300 : 0.0);
      for (int j = 0; j < n; ++j)
        for (const auto& v : ph) out[j] = gqa_max ? std::max(out[j], v[j]) : out[j] + v[j] / R;
      return out;
    };
    for (int g = 0; g < G; ++g) {
      const auto& c = cand[g];
      const int n = static_cast<int>(c.size());
      s[g].assign(n, 0.0);
      if (pol == "random") {
        for (int j = 0; j < n; ++j) s[g][j] = hash_uniform(seed, layer, g, c[j]);
      } else if (pol == "streamingllm") {
        const int ns = prm.at("n_sink");
        for (int j = 0; j < n; ++j) s[g][j] = c[j] < ns ? T + 1.0 + (ns - c[j]) : c[j];
      } else if (pol == "knorm") {
        for (int j = 0; j < n; ++j) {
          double q = 0;
          for (int e = 0; e < Dh; ++e) q += double(x.k(g, c[j], e)) * x.k(g, c[j], e);
          s[g][j] = -std::sqrt(q);
        }
      } else if (pol == "keydiff") {
        std::vector<double> a(Dh, 0.0);
        for (int j = 0; j < n; ++j) {
          double q = 0;
          for (int e = 0; e < Dh; ++e) q += double(x.k(g, c[j], e)) * x.k(g, c[j], e);
          for (int e = 0; e < Dh; ++e) a[e] += x.k(g, c[j], e) / std::sqrt(q) / n;
        }
        double an = 0;
        for (double v : a) an += v * v;
        for (int j = 0; j < n; ++j) {
          double q = 0, dd = 0;
          for (int e = 0; e < Dh; ++e) q += double(x.k(g, c[j], e)) * x.k(g, c[j], e), dd += x.k(g, c[j], e) * a[e];
          s[g][j] = -dd / std::sqrt(q * an);
        }
      } else if (pol == "snapkv") {
        const int w = prm.at("window"), kern = prm.at("kernel");
        const int qb = std::max(0, be - w);
        int m = 0;
        while (m < n && c[m] < qb) ++m;
        std::vector<std::vector<double>> ph;
        for (int hi = 0; hi < R; ++hi) {
          std::vector<double> mean(m, 0.0), pooled(m, 0.0);
          for (int t = qb; t < be; ++t) {
            auto a = attn(x, g * R + hi, t, c);
            for (int j = 0; j < m; ++j) mean[j] += a[j] / (be - qb);
          }
          for (int j = 0; j < m; ++j)
            for (int k = j - kern / 2; k <= j + kern / 2; ++k)
              if (k >= 0 && k < m) pooled[j] += mean[k] / kern;
          ph.push_back(pooled);
        }
        auto red = reduce(ph, m);
        double mx = -1e300;
        for (int j = 0; j < m; ++j) s[g][j] = red[j], mx = std::max(mx, red[j]);
        for (int j = m; j < n; ++j) s[g][j] = (m ? mx : 0.0) + 1;
      } else if (pol == "tova") {
        // mean over ALL heads of the last query's attention
        for (int h = 0; h < H; ++h) {
          auto a = attn(x, h, be - 1, cand[h / R]);
          for (int j = 0; j < n; ++j)
            for (std::size_t i = 0; i < cand[h / R].size(); ++i)
              if (cand[h / R][i] == c[j]) s[g][j] += a[i] / H;
        }
        double mx = -1e300;
        for (int j = 0; j < n; ++j)
          if (c[j] != be - 1) mx = std::max(mx, s[g][j]);
        for (int j = 0; j < n; ++j)
          if (c[j] == be - 1) s[g][j] = mx + 1;
      } else if (pol == "h2o") {
        std::vector<std::vector<double>> ph;
        for (int hi = 0; hi < R; ++hi) {
          const int h = g * R + hi;
          for (int t = bb; t < be; ++t) {
            auto a = attn(x, h, t, c);
            for (int j = 0; j < n; ++j) st.acc[{h, c[j]}] += a[j];
          }
        }
        for (int j = 0; j < n; ++j)
          for (int t = bb; t < be; ++t)
            if (t >= c[j]) st.cnt[{g, c[j]}] += 1;
        for (int hi = 0; hi < R; ++hi) {
          std::vector<double> v(n);
          for (int j = 0; j < n; ++j) v[j] = st.acc[{g * R + hi, c[j]}] / st.cnt[{g, c[j]}];
          ph.push_back(v);
        }
        s[g] = reduce(ph, n);
      } else if (pol == "laprox") {
        const int w = prm.at("window");
        const int qb = std::max(0, be - w);
        std::vector<std::vector<std::vector<double>>> A(R);  // [hi][t][j]
        for (int hi = 0; hi < R; ++hi)
          for (int t = qb; t < be; ++t) A[hi].push_back(attn(x, g * R + hi, t, c));
        for (int j = 0; j < n; ++j) {
          // || sum_h A_h[:, j] (x) (W_o^h v_j) ||_F^2 = sum_t || sum_h A_h[t,j] u_h ||^2
          std::vector<std::vector<double>> u;
          for (int hi = 0; hi < R; ++hi) u.push_back(wv(x, g * R + hi, c[j]));
          double f2 = 0;
          for (int t = 0; t < be - qb; ++t)
            for (int o = 0; o < D; ++o) {
              double z = 0;
              for (int hi = 0; hi < R; ++hi) z += A[hi][t][j] * u[hi][o];
              f2 += z * z;
            }
          s[g][j] = std::sqrt(f2);
        }
      } else if (pol == "lagkv") {
        const int ns = prm.at("n_sink"), lag = prm.at("lag_size");
        for (int j = 0; j < n; ++j) s[g][j] = j < ns ? 1.0 : double(j - ns) / (n - ns);
        if (n >= ns + 2 * lag) {
          for (int j = 0; j < n; ++j) s[g][j] = 1.0;
          const int parts = (n - ns) / lag;
          for (int p = 0; p + 1 < parts; ++p) {
            const int b0 = ns + p * lag;
            std::vector<double> comb(lag, 0.0);
            for (const Tensor3* st : {&x.k, &x.v}) {
              std::vector<double> sd(lag, 0.0);
              for (int i = 0; i < lag; ++i) {
                std::vector<double> z(Dh);
                for (int e = 0; e < Dh; ++e) {
                  double lo = 1e300, hi = -1e300;
                  for (int r = b0 + lag; r < b0 + 2 * lag; ++r)
                    lo = std::min(lo, double((*st)(g, c[r], e))), hi = std::max(hi, double((*st)(g, c[r], e)));
                  z[e] = hi > lo ? ((*st)(g, c[b0 + i], e) - lo) / (hi - lo) : 0.0;
                }
                const double mean = std::accumulate(z.begin(), z.end(), 0.0) / Dh;
                for (double v : z) sd[i] += (v - mean) * (v - mean) / (Dh - 1);
                sd[i] = std::sqrt(sd[i]);
              }
              double zsum = 0;
              for (double v : sd) zsum += std::exp(v);
              for (int i = 0; i < lag; ++i) comb[i] += std::exp(sd[i]) / zsum / 2;
            }
            for (int i = 0; i < lag; ++i) {  // rank: how many score below (ties: earlier below)
              int rank = 0;
              for (int o = 0; o < lag; ++o) rank += comb[o] < comb[i] || (comb[o] == comb[i] && o < i);
              s[g][b0 + i] = prm.at("cross") ? comb[i] : double(rank) / lag;
            }
          }
        }
      } else if (pol == "cur") {
        const int ns = prm.at("num_sinks"), w = prm.at("local_window_size");
        std::vector<double> k2(n, 0.0), v2(n, 0.0);
        for (int j = 0; j < n; ++j)
          for (int e = 0; e < Dh; ++e)
            k2[j] += double(x.k(g, c[j], e)) * x.k(g, c[j], e), v2[j] += double(x.v(g, c[j], e)) * x.v(g, c[j], e);
        for (auto* a : {&k2, &v2})
          for (int b0 = 0; b0 < n; b0 += w) {
            double sum = 0;
            for (int j = b0; j < std::min(n, b0 + w); ++j) sum += (*a)[j];
            for (int j = b0; j < std::min(n, b0 + w); ++j) (*a)[j] /= sum;
          }
        double total = 0;
        for (int j = 0; j < n; ++j) total += k2[j] * v2[j];
        for (int j = 0; j < n; ++j) s[g][j] = j < ns ? 1.0 : k2[j] * v2[j] / total;
      } else if (pol == "oracle") {
        for (int hi = 0; hi < R; ++hi)
          for (int t = C; t < T; ++t) {
            std::vector<int> all(t + 1);
            std::iota(all.begin(), all.end(), 0);
            auto a = attn(x, g * R + hi, t, all);
            for (int j = 0; j < n; ++j) s[g][j] += a[c[j]] / R;
          }
      }
    }
    if (pol == "laprox" && prm.at("model")) {
      // ||Y||_F over the observation queries, Y_t = sum_h W_o^h sum_j A_h[t,j] v_j
      const int qb = std::max(0, be - prm.at("window"));
      double f2 = 0;
      for (int t = qb; t < be; ++t) {
        std::vector<double> y(D, 0.0);
        for (int h = 0; h < H; ++h) {
          auto a = attn(x, h, t, cand[h / R]);
          for (std::size_t i = 0; i < a.size(); ++i) {
            auto u = wv(x, h, cand[h / R][i]);
            for (int o = 0; o < D; ++o) y[o] += a[i] * u[o];
          }
        }
        for (double v : y) f2 += v * v;
      }
      norm_y = std::sqrt(f2);
    }
    return s;
  }

  static bool better(double sa, int pa, int ha, double sb, int pb, int hb) {
    if (sa != sb) return sa > sb;
    if (pa != pb) return pa > pb;
    return ha > hb;
  }
  static std::vector<std::vector<int>> pick(const std::vector<std::vector<int>>& cand,
                                            const std::vector<std::vector<double>>& s, long total,
                                            int floor_per_head, bool pooled, int N) {
    std::vector<std::vector<int>> out(cand.size());
    struct E { double s; int p, h; };
    auto cmp = [](const E& a, const E& b) { return better(a.s, a.p, a.h, b.s, b.p, b.h); };
    if (!pooled) {
      for (std::size_t g = 0; g < cand.size(); ++g) {
        std::vector<E> e;
        for (std::size_t i = 0; i < cand[g].size(); ++i) e.push_back({s[g][i], cand[g][i], 0});
        std::sort(e.begin(), e.end(), cmp);
        for (int i = 0; i < std::min<int>(N, e.size()); ++i) out[g].push_back(e[i].p);
      }
    } else {
      std::vector<E> rest;
      long used = 0;
      for (std::size_t g = 0; g < cand.size(); ++g) {
        std::vector<E> e;
        for (std::size_t i = 0; i < cand[g].size(); ++i) e.push_back({s[g][i], cand[g][i], int(g)});
        std::sort(e.begin(), e.end(), cmp);
        for (std::size_t i = 0; i < e.size(); ++i)
          if (int(i) < floor_per_head) out[g].push_back(e[i].p), ++used;
          else rest.push_back(e[i]);
      }
      std::sort(rest.begin(), rest.end(), cmp);
      for (long i = 0; i < total - used && i < long(rest.size()); ++i) out[rest[i].h].push_back(rest[i].p);
    }
    for (auto& v : out) std::sort(v.begin(), v.end());
    return out;
  }
  void protect(const std::vector<std::vector<int>>& cand, std::vector<std::vector<double>>& s, int end) const {
    double mx = -1e300;
    for (auto& v : s)
      for (double x : v) mx = std::max(mx, x);
    for (std::size_t g = 0; g < cand.size(); ++g)
      for (std::size_t i = 0; i < cand[g].size(); ++i)
        if (cand[g][i] < sinks || (recent > 0 && cand[g][i] >= end - recent)) s[g][i] = mx + 1;
  }

  // Kept sets per layer for one policy at budget N.
  std::vector<std::vector<std::vector<int>>> run(const std::string& pol, std::map<std::string, int> prm, int N) {
    std::vector<std::vector<std::vector<int>>> kept(L);
    std::vector<int> all(C);
    std::iota(all.begin(), all.end(), 0);
    const bool pooled = pol == "laprox";
    const bool model = pooled && prm["model"];
    if (pol == "full" || N >= C) {
      for (auto& k : kept) k.assign(G, all);
      return kept;
    }
    if (model) {
      std::vector<std::vector<int>> cand;
      std::vector<std::vector<double>> sc;
      for (int l = 0; l < L; ++l) {
        H2O st;
        auto s = score(pol, prm, layers[l], l, 0, C, std::vector<std::vector<int>>(G, all), st, false);
        for (int g = 0; g < G; ++g) {
          for (auto& v : s[g]) v /= norm_y;
          cand.push_back(all);
          sc.push_back(s[g]);
        }
      }
      protect(cand, sc, C);
      auto sel = pick(cand, sc, long(L) * G * N, N / 5, true, N);
      for (int l = 0; l < L; ++l) kept[l].assign(sel.begin() + l * G, sel.begin() + (l + 1) * G);
      return kept;
    }
    for (int l = 0; l < L; ++l) {
      const auto& x = layers[l];
      H2O st;
      std::vector<std::vector<int>> cache;
      auto step = [&](int bb, int be, const std::vector<std::vector<int>>& cand) {
        auto s = score(pol, prm, x, l, bb, be, cand, st, false);
        protect(cand, s, be);
        return pick(cand, s, long(G) * N, N / 5, pooled, N);
      };
      if (block == 0) {
        cache = step(0, C, std::vector<std::vector<int>>(G, all));
      } else {
        std::vector<int> fill(N);
        std::iota(fill.begin(), fill.end(), 0);
        cache.assign(G, fill);
        if (pol == "h2o") score(pol, prm, x, l, 0, N, cache, st, false);
        for (int b = N; b < C; b += block) {
          const int e = std::min(C, b + block);
          auto cand = cache;
          for (auto& c : cand)
            for (int p = b; p < e; ++p) c.push_back(p);
          cache = step(b, e, cand);
        }
      }
      kept[l] = cache;
    }
    return kept;
  }

  // M1, M4 per head and M5 for one layer's kept sets.
  void metrics(int l, const std::vector<std::vector<int>>& kept, std::vector<double>& m1,
               std::vector<double>& m4, double& m5) const {
    const auto& x = layers[l];
    m1.assign(H, 0.0);
    m4.assign(H, 0.0);
    m5 = 0;
    for (int t = C; t < T; ++t) {
      std::vector<double> o(H * Dh, 0.0), oh(H * Dh, 0.0);
      for (int h = 0; h < H; ++h) {
        std::vector<int> all(t + 1);
        std::iota(all.begin(), all.end(), 0);
        auto a = attn(x, h, t, all);
        std::vector<char> in(t + 1, 0);
        for (int j : kept[h / R]) in[j] = 1;
        for (int j = C; j <= t; ++j) in[j] = 1;
        double rsum = 0;
        for (int j = 0; j <= t; ++j) rsum += in[j] ? a[j] : 0;
        for (int j = 0; j <= t; ++j)
          for (int e = 0; e < Dh; ++e) {
            o[h * Dh + e] += a[j] * x.v(h / R, j, e);
            if (in[j]) oh[h * Dh + e] += a[j] / rsum * x.v(h / R, j, e);
          }
        double dn = 0, on = 0;
        for (int e = 0; e < Dh; ++e) {
          dn += std::pow(o[h * Dh + e] - oh[h * Dh + e], 2);
          on += std::pow(o[h * Dh + e], 2);
        }
        m1[h] += rsum / (T - C);
        m4[h] += std::sqrt(dn / on) / (T - C);
      }
      double yn = 0, dn = 0;
      for (int r = 0; r < D; ++r) {
        double y = 0, yh = 0;
        for (int c = 0; c < H * Dh; ++c) y += (*x.o_proj)(r, c) * o[c], yh += (*x.o_proj)(r, c) * oh[c];
        yn += y * y;
        dn += (y - yh) * (y - yh);
      }
      m5 += std::sqrt(dn / yn) / (T - C);
    }
  }
};

TEST(ReferenceCrossCheck, EveryPolicyAgreesWithNaiveReference) {
  std::vector<LayerTensors> layers;
  for (int l = 0; l < L; ++l) layers.push_back(test::random_layer(H, G, Dh, T, D, 1234 + l));
  MemoryLayerSource src(test::tiny_attrs(L, H, G, Dh, T, C, D, kScale), layers);

  struct Case { std::string spec, name; std::map<std::string, int> prm; };
  const std::vector<Case> cases = {
      {"full", "full", {}},
      {"random", "random", {}},
      {"streamingllm:n_sink=2", "streamingllm", {{"n_sink", 2}}},
      {"knorm", "knorm", {}},
      {"keydiff", "keydiff", {}},
      {"snapkv:window=6,kernel=3", "snapkv", {{"window", 6}, {"kernel", 3}}},
      {"tova", "tova", {}},
      {"h2o", "h2o", {}},
      {"laprox:window=5", "laprox", {{"window", 5}, {"model", 0}}},
      {"laprox:window=5,mode=model", "laprox", {{"window", 5}, {"model", 1}}},
      {"lagkv:n_sink=2,lag_size=4", "lagkv", {{"n_sink", 2}, {"lag_size", 4}, {"cross", 0}}},
      {"lagkv:n_sink=3,lag_size=3,cross_scoring=1", "lagkv", {{"n_sink", 3}, {"lag_size", 3}, {"cross", 1}}},
      {"cur:num_sinks=2,local_window_size=4", "cur", {{"num_sinks", 2}, {"local_window_size", 4}}},
      {"oracle", "oracle", {}},
  };
  struct Opt { int block, sinks, recent; };
  for (const Opt opt : {Opt{0, 0, 0}, Opt{8, 0, 0}, Opt{5, 2, 3}}) {
    SweepSpec spec;
    for (const auto& c : cases) spec.policies.push_back(parse_policy_spec(c.spec));
    spec.budgets = parse_budget_list("10,0.5");
    spec.options.block = opt.block;
    spec.options.sinks = opt.sinks;
    spec.options.recent = opt.recent;
    spec.options.seed = 5;
    spec.keep_sets = true;
    const SweepResult res = run_sweep(src, spec);
    std::map<std::tuple<int, int, int, int>, double> m;
    for (const auto& row : res.rows) m[{row.item, row.layer, row.head, row.metric}] = row.value;

    Ref ref{layers, opt.block, opt.sinks, opt.recent, 5};
    for (std::size_t i = 0; i < res.items.size(); ++i) {
      const Case& c = cases[res.items[i].policy];
      const int N = res.items[i].budget_tokens;
      const auto kept = ref.run(c.name, c.prm, N);
      const std::string what = c.spec + " N=" + std::to_string(N) + " block=" + std::to_string(opt.block) +
                               " sinks=" + std::to_string(opt.sinks) + " recent=" + std::to_string(opt.recent);
      for (int l = 0; l < L; ++l) {
        EXPECT_EQ(res.kept[i][l], kept[l]) << what << " layer " << l;
        std::vector<double> m1, m4;
        double m5;
        ref.metrics(l, res.kept[i][l], m1, m4, m5);
        for (int h = 0; h < H; ++h) {
          EXPECT_NEAR(m.at(std::make_tuple(int(i), l, h, int(kAttnRecall))), m1[h], 1e-5) << what;
          EXPECT_NEAR(m.at(std::make_tuple(int(i), l, h, int(kHeadOutErr))), m4[h], 1e-5) << what;
        }
        EXPECT_NEAR(m.at(std::make_tuple(int(i), l, -1, int(kLayerOutErr))), m5, 1e-5) << what;
      }
    }
  }
}

}  // namespace
}  // namespace kvsim
