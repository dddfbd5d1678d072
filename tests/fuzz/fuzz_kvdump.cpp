// libFuzzer harness for the kvdump reader: any byte string, written to a file,
// must either read or fail with kvsim::InputError — never crash or hang.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "io/errors.hpp"
#include "io/kvdump.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Let libFuzzer's own -timeout report hangs (they are libhdf5's) instead of
  // kvsim's watchdog exiting the process.
  ::setenv("KVSIM_IO_TIMEOUT", "100000", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/kvsim-fuzz-" + std::to_string(::getpid()) + ".h5";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    kvsim::DumpReader reader(path);
    const auto& a = reader.attrs();
    // Bound the work per input: the fuzzer should explore parsing, not allocate gigabytes.
    if (static_cast<long long>(a.n_heads) * a.n_tokens * a.head_dim > (1LL << 22)) return 0;
    reader.tokens();
    reader.token_text();
    for (int l = 0; l < a.n_layers && l < 4; ++l) {
      kvsim::LayerFields fields;
      fields.q_pre_rope = fields.hidden_norm = true;
      reader.read_layer(l, fields);
    }
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
