// Inputs the fuzzers (tests/fuzz) found crashing, reduced to unit tests.
#include <cstdint>
#include <fstream>

#include "io/errors.hpp"
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

}  // namespace
}  // namespace kvsim
