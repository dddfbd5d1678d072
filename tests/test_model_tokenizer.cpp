// Tokenizers of the shared models: known ids for known strings, round trips,
// byte fallback, added/special tokens, and --tokens-file parsing.
#include <gtest/gtest.h>

#include <fstream>

#include "io/errors.hpp"
#include "io/model/load_model.hpp"
#include "io/tokenizer/hf_bpe_tokenizer.hpp"
#include "io/tokenizer/llama2c_tokenizer.hpp"
#include "io/tokenizer/load_tokenizer.hpp"
#include "tests/model_support.hpp"

namespace kvsim {
namespace {

const std::vector<std::string> kSampleTexts = {
    "Once upon a time, there was a little girl named Lily.",
    "Tom and Sue went to the park. They saw a big dog!\nThe dog barked: \"Woof, woof.\"",
    "  Two spaces, 3 numbers: 1 2 3; and a question? Yes.",
};

TEST(ModelTokenizerHf, KnownIdsMatchTokenizersJs) {
  KVSIM_REQUIRE_SHARED_MODEL(path, "tinystories-656k/tokenizer.json");
  HfBpeTokenizer tok(path);
  // Expected ids computed independently with @huggingface/tokenizers 0.2.0
  // (tokenizers.js) on the same tokenizer.json, add_special_tokens=false.
  EXPECT_EQ(tok.encode("Once upon a time, there was a little girl named Lily."),
            (std::vector<int>{80, 147, 201, 282, 215, 286, 598, 629, 10}));
  EXPECT_EQ(tok.encode("Tom and Sue went to the park. They saw a big dog!"),
            (std::vector<int>{80, 875, 566, 1844, 144, 614, 604, 4}));
  // Characters outside the vocabulary: no <0xNN> pieces exist, so <unk> (id 0).
  EXPECT_EQ(tok.encode("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 123"),
            (std::vector<int>{141, 0, 113, 139, 75, 0, 70, 180, 0, 80, 12, 13, 14}));
  // A normalised added token swallows the prepended "▁" (Rust tokenizers semantics).
  EXPECT_EQ(tok.encode("<|start_story|>Once upon a time"), (std::vector<int>{1, 147, 201, 282, 57}));
}

TEST(ModelTokenizerHf, GreedyPiecesDecodeToTheReadmeText) {
  KVSIM_REQUIRE_SHARED_MODEL(path, "tinystories-656k/tokenizer.json");
  KVSIM_REQUIRE_SHARED_MODEL(golden_path, "tinystories-656k/reference_qkv.json");
  HfBpeTokenizer tok(path);
  const auto golden = test::read_json(golden_path);
  const auto ids = golden["input_tokens"].get<std::vector<int>>();
  const auto pieces = golden["input_pieces"].get<std::vector<std::string>>();
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(tok.id_of(pieces[i]), ids[i]) << pieces[i];
  // The decoder drops the special BOS, maps ▁ to spaces and strips one leading space.
  EXPECT_EQ(tok.decode(ids), "Once upon a time, there was a little girl named Lily. She ");
  EXPECT_EQ(tok.token_text(ids[3]), "upon a tim");
  EXPECT_EQ(tok.token_text(1), "<|start_story|>");
}

TEST(ModelTokenizerHf, RoundTripsSampleText) {
  KVSIM_REQUIRE_SHARED_MODEL(path, "tinystories-656k/tokenizer.json");
  HfBpeTokenizer tok(path);
  for (const std::string& text : kSampleTexts) {
    const auto ids = tok.encode(text);
    EXPECT_LT(ids.size(), text.size()) << "BPE merged nothing in: " << text;
    EXPECT_EQ(tok.decode(ids), text);
  }
}

TEST(ModelTokenizerLlama2c, EncodesTheReferencePieces) {
  KVSIM_REQUIRE_SHARED_MODEL(tok_path, "stories260K/tok512.bin");
  KVSIM_REQUIRE_SHARED_MODEL(golden_path, "stories260K/reference_qkv.json");
  Llama2cTokenizer tok(tok_path, 512);
  const auto golden = test::read_json(golden_path);
  const auto ids = golden["input_tokens"].get<std::vector<int>>();        // BOS, " Once", " upon", ...
  const auto pieces = golden["input_pieces"].get<std::vector<std::string>>();
  std::string text;
  for (std::size_t i = 1; i < pieces.size(); ++i) text += pieces[i];
  text.erase(0, 1);  // "Once upon a time, there was": the tokenizer adds the dummy-prefix space
  EXPECT_EQ(tok.encode(text), std::vector<int>(ids.begin() + 1, ids.end()));
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.token_text(ids[1]), " Once");
}

TEST(ModelTokenizerLlama2c, RoundTripsIncludingByteFallback) {
  KVSIM_REQUIRE_SHARED_MODEL(tok_path, "stories260K/tok512.bin");
  Llama2cTokenizer tok(tok_path, 512);
  std::vector<std::string> texts = kSampleTexts;
  texts.push_back("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 and a\ttab");
  for (const std::string& text : texts) EXPECT_EQ(tok.decode(tok.encode(text)), text) << text;
  // U+2713 is not a piece of the 512-token vocabulary: the dummy-prefix " ",
  // then its three UTF-8 bytes as <0xE2> <0x9C> <0x93> (id = 3 + byte).
  const auto ids = tok.encode("\xe2\x9c\x93");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(tok.token_text(ids[0]), " ");
  EXPECT_EQ(std::vector<int>(ids.begin() + 1, ids.end()), (std::vector<int>{3 + 0xe2, 3 + 0x9c, 3 + 0x93}));
  EXPECT_EQ(tok.token_text(3 + 0xe2), "<0xE2>") << "a lone partial UTF-8 byte is shown as its piece";
}

TEST(ModelTokenizerFiles, FindsTokenizersBesideTheModel) {
  KVSIM_REQUIRE_SHARED_MODEL(bin, "stories260K/stories260K.bin");
  KVSIM_REQUIRE_SHARED_MODEL(hf_dir, "tinystories-656k");
  const LoadedModel small = load_model(bin);
  EXPECT_NE(dynamic_cast<Llama2cTokenizer*>(load_tokenizer(small, bin, "").get()), nullptr);
  const LoadedModel hf = load_model(hf_dir);
  EXPECT_NE(dynamic_cast<HfBpeTokenizer*>(load_tokenizer(hf, hf_dir, "").get()), nullptr);
}

TEST(ModelTokenizerFiles, TokensFileParsesAndRejectsBadIds) {
  test::ScratchDir dir;
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir.file(name)) << content;
    return dir.file(name);
  };
  EXPECT_EQ(read_token_ids_file(write("ok.txt", "1 403\n407\t261  \n"), 512), (std::vector<int>{1, 403, 407, 261}));
  try {
    read_token_ids_file(write("word.txt", "1 two 3"), 512);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'two' is not a token id"), std::string::npos) << e.what();
  }
  try {
    read_token_ids_file(write("range.txt", "1 512"), 512);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_token_ids_file(write("empty.txt", " \n"), 512), InputError);
}

}  // namespace
}  // namespace kvsim
