// libFuzzer harness for the safetensors parser (header JSON, dtypes, offsets).
#include "io/errors.hpp"
#include "io/model/safetensors.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = kvsim::fuzz::write_input(data, size, ".safetensors");
  try {
    kvsim::SafetensorsFile file(path);
    std::size_t total = 0;
    for (const auto& [name, tensor] : file.tensors())
      for (std::size_t i = 0; i < tensor.n_bytes; i += 4096) total += tensor.bytes[i];  // touch every page
    (void)total;
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
