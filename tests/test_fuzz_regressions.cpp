// Inputs the fuzzers (tests/fuzz) found crashing, reduced to unit tests.
#include <cstdint>
#include <fstream>

#include "io/errors.hpp"
#include "io/tokenizer/hf_bpe_tokenizer.hpp"
#include "io/tokenizer/llama2c_tokenizer.hpp"
#include "tests/support.hpp"

namespace kvsim {
namespace {

void write_llama2c_tokenizer(const std::string& path, const std::vector<std::string>& pieces) {
  std::ofstream out(path, std::ios::binary);
  const std::int32_t max_len = 8;
  out.write(reinterpret_cast<const char*>(&max_len), 4);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const float score = -static_cast<float>(i);
    const auto len = static_cast<std::int32_t>(pieces[i].size());
    out.write(reinterpret_cast<const char*>(&score), 4);
    out.write(reinterpret_cast<const char*>(&len), 4);
    out.write(pieces[i].data(), len);
  }
}

TEST(FuzzRegression, Llama2cTokenizerWithoutBytePiecesRefusesUnknownCharacters) {
  // A vocabulary without the 256 byte-fallback pieces used to index past its
  // end for any character it could not spell.
  test::ScratchDir dir;
  const std::string path = dir.file("tok5.bin");
  write_llama2c_tokenizer(path, {"<unk>", "\n<s>\n", "\n</s>\n", "a", "b"});
  Llama2cTokenizer tokenizer(path, 5);
  EXPECT_EQ(tokenizer.encode("ab"), (std::vector<int>{3, 4}));
  try {
    tokenizer.encode("a\xc3\xa9");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("byte-fallback"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Llama2cTokenizer(path, -3), InputError);
}

TEST(FuzzRegression, HfTokenizerRefusesIdsFarBeyondItsVocabulary) {
  // fuzz_hf_tokenizer: one id of 2,000,000,000 sized the id tables from it
  // (a 39 GB allocation) instead of being refused as corrupt.
  test::ScratchDir dir;
  const std::string vocab_path = dir.file("vocab.json"), added_path = dir.file("added.json");
  std::ofstream(vocab_path) << R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2000000000}, "merges": []}})";
  std::ofstream(added_path)
      << R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []},
            "added_tokens": [{"id": 1000000000, "content": "<x>", "special": true}]})";
  for (const std::string& path : {vocab_path, added_path}) {
    try {
      HfBpeTokenizer tokenizer(path);
      FAIL() << path << ": expected an InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("far beyond the"), std::string::npos) << e.what();
    }
  }
  // Ids a little past the entries (a gap, added tokens after the vocabulary) still load.
  const std::string gap_path = dir.file("gap.json");
  std::ofstream(gap_path) << R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 5}, "merges": []},
                                 "added_tokens": [{"id": 40, "content": "<s>", "special": true}]})";
  EXPECT_NO_THROW(HfBpeTokenizer{gap_path});
}

}  // namespace
}  // namespace kvsim
