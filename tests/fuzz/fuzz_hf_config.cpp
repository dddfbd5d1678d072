// libFuzzer harness for the HF config.json parser: any text must give a
// ModelConfig or kvsim::InputError. A library exception (nlohmann::json's
// type_error on a wrong-typed field, std::out_of_range) escaping here is the
// bug class "library exception text reaches the user", reported as a crash.
#include <cstdint>
#include <string>

#include "io/errors.hpp"
#include "io/model/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    kvsim::parse_hf_config_text(std::string(reinterpret_cast<const char*>(data), size), "config.json");
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
