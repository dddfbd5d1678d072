// The dump-read stage against the page cache, in one run: BM_PageCacheRead
// reads the file with read(2) into one reused 1 MiB buffer (what `cat FILE >
// /dev/null` does, warm), BM_DumpRead reads every layer's q, k, v and o_proj
// as the sweep does (the first pass pays the first touch of its buffers; the
// benchmark's later iterations show the steady state of a long dump).
// KVSIM_BENCH_DUMP=FILE picks the dump; default: an 8-layer, 32/8-head,
// d = 128, 4096-token f32 dump synthesised under /tmp once.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/kvdump.hpp"
#include "io/layer_memory.hpp"
#include "sim/engine/bench_engine.hpp"
#include "sim/model/synth.hpp"

namespace {
using namespace kvsim;

const std::string& dump_path() {
  static const std::string path = [] {
    keep_freed_layers_in_heap();  // as kvsim's main does
    if (const char* p = std::getenv("KVSIM_BENCH_DUMP")) return std::string(p);
    const std::string p = (std::filesystem::temp_directory_path() / "kvsim_bench_read.h5").string();
    if (!std::filesystem::exists(p)) {
      BenchConfig shape;  // the 32/8-head, d = 128 shape of kvsim bench
      shape.context = 3968;
      shape.future = 128;
      SynthConfig c = shape.synth();
      c.n_layers = 8;
      write_synth_dump(c, p);
    }
    return p;
  }();
  return path;
}

void BM_PageCacheRead(benchmark::State& state) {
  std::vector<char> buffer(1 << 20);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const int fd = ::open(dump_path().c_str(), O_RDONLY);
    for (ssize_t got; (got = ::read(fd, buffer.data(), buffer.size())) > 0;) bytes += static_cast<std::size_t>(got);
    ::close(fd);
  }
  state.counters["GB/s"] = benchmark::Counter(double(bytes) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PageCacheRead)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

void BM_DumpRead(benchmark::State& state) {
  const DumpReader reader(dump_path());
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    for (int l = 0; l < reader.attrs().n_layers; ++l) {
      LayerFields fields;
      fields.o_proj = reader.has(l, "o_proj");
      benchmark::DoNotOptimize(reader.read_layer(l, fields));
      for (const char* name : {"q", "k", "v", "o_proj"}) bytes += reader.stored_bytes(l, name);
    }
  }
  state.counters["GB/s"] = benchmark::Counter(double(bytes) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DumpRead)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

}  // namespace
