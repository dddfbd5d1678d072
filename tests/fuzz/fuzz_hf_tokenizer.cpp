// libFuzzer harness for the tokenizer.json BPE loader (SentencePiece and
// byte-level: regexes, normalizers, post-processors), then an encode/decode
// of a fixed text with whatever it accepted.
#include "io/errors.hpp"
#include "io/tokenizer/hf_bpe_tokenizer.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = kvsim::fuzz::write_input(data, size, ".json");
  try {
    kvsim::HfBpeTokenizer tokenizer(path);
    const auto ids = tokenizer.encode("Once upon a time, a l\xc3\xa9zard saw \xf0\x9f\x90\x89 <0x41>! It's 12345\r\n\t  "
                                      "\xe4\xbd\xa0\xe5\xa5\xbd cafe\xcc\x81 <think>x</think>");
    tokenizer.decode(ids);
    tokenizer.decode_with_special_tokens(ids);
    if (auto wrapped = tokenizer.with_special_tokens(ids)) tokenizer.decode(*wrapped);
    for (int id : ids) tokenizer.token_text(id);
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
