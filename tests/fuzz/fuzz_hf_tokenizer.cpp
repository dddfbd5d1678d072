// libFuzzer harness for the tokenizer.json BPE loader, then an encode/decode
// of a fixed text with whatever vocabulary it accepted.
#include "io/errors.hpp"
#include "io/tokenizer/hf_bpe_tokenizer.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = kvsim::fuzz::write_input(data, size, ".json");
  try {
    kvsim::HfBpeTokenizer tokenizer(path);
    const auto ids = tokenizer.encode("Once upon a time, a l\xc3\xa9zard saw \xf0\x9f\x90\x89 <0x41>!");
    tokenizer.decode(ids);
    for (int id : ids) tokenizer.token_text(id);
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
