// libFuzzer harness for the llama2.c tokenizer file (tok512.bin layout).
#include "io/errors.hpp"
#include "io/tokenizer/llama2c_tokenizer.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int vocab = 1 + data[0] * 4;  // the vocabulary size comes from the model header, not the file
  const std::string path = kvsim::fuzz::write_input(data + 1, size - 1, ".bin");
  try {
    kvsim::Llama2cTokenizer tokenizer(path, vocab);
    const auto ids = tokenizer.encode("Once upon a time, there was a \xc3\xa9 \xe2\x9c\x93.");
    tokenizer.decode(ids);
    for (int id : ids) tokenizer.token_text(id);
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
