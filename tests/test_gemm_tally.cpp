// The GEMM tally behind run.json's and kvsim bench's per-stage GEMM rates:
// the wrappers add 2*M*N*K for the calling thread's scope, parallel_for
// carries the scope to its workers, and a sweep's h2o one-shot selection
// reports exactly the FLOPs of its causal query chunks, counted on paper.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "policies/kernels/blas.hpp"
#include "policies/kernels/gemm_tally.hpp"
#include "policies/kernels/parallel_for.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

TEST(GemmTally, CountsTwoMnkInItsScopeAcrossParallelForAndNothingOutside) {
  std::vector<float> a(6 * 4, 1.f), b(5 * 4, 1.f), c(6 * 5);
  GemmTally tally;
  {
    const GemmTallyScope scope(&tally);
    sgemm_nt(6, 5, 4, a.data(), 4, b.data(), 4, c.data(), 5);  // 2*6*5*4 = 240
    parallel_for(4, [&](int) {
      std::vector<float> cc(6 * 5);
      sgemm_nt(6, 5, 4, a.data(), 4, b.data(), 4, cc.data(), 5);
    });
    sgemm_nt_thread_invariant(6, 5, 4, a.data(), 4, b.data(), 4, c.data(), 5);
  }
  sgemm_nt(6, 5, 4, a.data(), 4, b.data(), 4, c.data(), 5);  // outside: not counted
  EXPECT_EQ(tally.flops.load(), 6u * 240u);
  EXPECT_EQ(c[0], 4.f);
  EXPECT_GT(sgemm_gflops_per_thread(64), 0.0);
}

// h2o one-shot on C = 540 context tokens, G = 2 KV heads of r = 2, d = 16:
// query chunks of 64 see the keys before their end: 64, 128, ..., 512 keys
// for eight chunks of 64 queries, then 540 keys for the last 28 queries:
// 2 * G * r * d * (64*64*(1+2+...+8) + 28*540).
TEST(GemmTally, SweepReportsH2oOneShotFlopsCountedOnPaper) {
  test::ScratchDir dir;
  auto r = test::run_kvsim("synth --out " + dir.file("d.h5") + " --layers 1 --heads 4 --kv-heads 2 --head-dim 16 "
                           "--tokens 600 --context-len 540 --seed 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_kvsim("sweep -q --dump " + dir.file("d.h5") + " --policies h2o --budgets 64 --block 0 --out " +
                      dir.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto run = nlohmann::json::parse(test::read_text(dir.file("o/run.json")));
  const auto& item = run["timing_seconds"]["items"]["h2o@64"];
  const double want = 2.0 * 2 * 2 * 16 * (64.0 * 64 * 36 + 28.0 * 540);
  EXPECT_NEAR(item["select_gemm_gflop"].get<double>() * 1e9, want, 1e-9 * want);
  EXPECT_GT(item["select_gemm_vs_sgemm"].get<double>(), 0.0);
  EXPECT_GT(run["timing_seconds"]["sgemm_gflops_per_thread"].get<double>(), 0.0);
}

}  // namespace
}  // namespace kvsim
