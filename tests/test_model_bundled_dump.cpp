// data/tinystories656k-kite.h5 is a valid kvdump made exactly as data/README.md
// says: recapturing with the documented command gives the same tokens and
// (to BLAS rounding) the same tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/kvdump.hpp"
#include "tests/model_support.hpp"

namespace kvsim {
namespace {

const std::string kBundled = std::string(KVSIM_SOURCE_DIR) + "/data/tinystories656k-kite.h5";

TEST(ModelBundledDump, IsAValidRealCapture) {
  ASSERT_TRUE(std::filesystem::exists(kBundled)) << kBundled;
  EXPECT_LT(std::filesystem::file_size(kBundled), 3u << 20) << "keep the bundled dump under 3 MB";
  DumpReader dump(kBundled);
  const DumpAttrs& a = dump.attrs();
  EXPECT_EQ(a.model, "TinyStories-656K");
  EXPECT_EQ(a.source, "kvsim-capture");
  EXPECT_EQ(a.n_layers, 2);
  EXPECT_EQ(a.n_kv_heads, 4);
  ASSERT_TRUE(a.context_len.has_value());
  EXPECT_GE(*a.context_len, 200) << "a few hundred context tokens";
  EXPECT_GE(a.n_tokens - *a.context_len, 32) << "question + answer as future queries";
  EXPECT_TRUE(dump.has_o_proj());
  EXPECT_TRUE(dump.has(0, "q_pre_rope"));
  EXPECT_TRUE(dump.has(1, "hidden_norm"));
  EXPECT_EQ(dump.tokens().front(), 1);
}

TEST(ModelBundledDump, RecaptureWithTheDocumentedCommandMatches) {
  KVSIM_REQUIRE_SHARED_MODEL(model_path, "tinystories-656k");
  test::ScratchDir dir;
  const std::string prompts = std::string(KVSIM_SOURCE_DIR) + "/data/prompts/";
  const auto made = test::run_kvsim("capture --model " + model_path + " --prompt-file " + prompts +
                                    "tinystories_context.txt --question-file " + prompts +
                                    "tinystories_question.txt --generate 64 --model-name TinyStories-656K --out " +
                                    dir.file("again.h5"));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  DumpReader again(dir.file("again.h5")), bundled(kBundled);
  ASSERT_EQ(again.tokens(), bundled.tokens());
  EXPECT_EQ(again.attrs().context_len, bundled.attrs().context_len);
  EXPECT_EQ(again.token_text(), bundled.token_text());
  for (int l = 0; l < bundled.attrs().n_layers; ++l) {
    const LayerTensors x = again.read_layer(l), y = bundled.read_layer(l);
    double max_diff = 0, max_ref = 0;
    for (std::size_t i = 0; i < y.k.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::abs(x.k.data()[i] - y.k.data()[i])));
      max_ref = std::max(max_ref, static_cast<double>(std::abs(y.k.data()[i])));
    }
    EXPECT_LE(max_diff, 1e-4 * max_ref) << "layer " << l << " keys";
  }
}

}  // namespace
}  // namespace kvsim
