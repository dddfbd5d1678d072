// Greedy decoding from BOS through the capture path reproduces the first
// tokens documented in each shared model's README, and the capture records
// what the forward pass computed.
#include <gtest/gtest.h>

#include <cmath>

#include "io/model/load_model.hpp"
#include "sim/model/capture.hpp"
#include "tests/model_support.hpp"

namespace kvsim {
namespace {

struct GreedyCase {
  std::string folder;
  std::vector<int> documented_first_tokens;  // from the model folder's README.md
};

class ModelGreedy : public ::testing::TestWithParam<GreedyCase> {};

TEST_P(ModelGreedy, FromBosReproducesDocumentedTokens) {
  const GreedyCase& c = GetParam();
  KVSIM_REQUIRE_SHARED_MODEL(model_path, test::model_path_for(c.folder));
  const LoadedModel model = load_model(model_path);
  CaptureRequest request;
  request.prompt_tokens = {model.config.bos_token_id};
  request.context_len = 1;
  request.generate = static_cast<int>(c.documented_first_tokens.size());
  const CaptureResult result = run_capture(model, request);
  EXPECT_EQ(result.generated, c.documented_first_tokens);
  ASSERT_EQ(result.tokens.size(), 1 + c.documented_first_tokens.size());

  // Every fed token was recorded once per layer, in dump layout.
  const int T = static_cast<int>(result.tokens.size());
  for (int l = 0; l < model.config.n_layers; ++l) {
    const LayerTensors t = result.layer_tensors(model, l);
    EXPECT_EQ(t.q.shape(1), static_cast<std::size_t>(T));
    EXPECT_EQ(t.k.shape(0), static_cast<std::size_t>(model.config.n_kv_heads));
    ASSERT_TRUE(t.hidden_norm.has_value());
    ASSERT_TRUE(t.o_proj.has_value());
    EXPECT_EQ((*t.o_proj)(1, 2), model.weights.layers[l].wo.at(1 * model.config.q_dim() + 2));
  }
  // The hidden state entering layer 0 is the token embedding.
  const LayerTensors first = result.layer_tensors(model, 0);
  for (int t = 0; t < T; ++t) {
    double sum_sq = 0;
    std::vector<float> row(model.config.hidden_size);
    model.weights.token_embedding.widen_rows(result.tokens[t], 1, model.config.hidden_size, row.data());
    for (int i = 0; i < model.config.hidden_size; ++i) sum_sq += row[i] * row[i];
    EXPECT_NEAR((*first.hidden_norm)(t), std::sqrt(sum_sq), 1e-5 * std::sqrt(sum_sq));
  }
}

TEST_P(ModelGreedy, StopsAtEndOfSequenceToken) {
  const GreedyCase& c = GetParam();
  KVSIM_REQUIRE_SHARED_MODEL(model_path, test::model_path_for(c.folder));
  const LoadedModel model = load_model(model_path);
  CaptureRequest request;
  request.prompt_tokens = {model.config.bos_token_id};
  request.context_len = 1;
  request.generate = 8;
  request.stop_tokens = {c.documented_first_tokens[2]};  // pretend the third token ends the text
  const CaptureResult result = run_capture(model, request);
  EXPECT_EQ(result.generated, std::vector<int>(c.documented_first_tokens.begin(), c.documented_first_tokens.begin() + 3));
}

INSTANTIATE_TEST_SUITE_P(ModelShared, ModelGreedy,
                         ::testing::Values(GreedyCase{"stories260K", {403, 407, 261, 378, 432, 383, 286, 261}},
                                           GreedyCase{"tinystories-656k", {147, 201, 282, 215, 286, 598, 1662, 356}}),
                         [](const auto& info) { return info.param.folder == "stories260K" ? "stories260K" : "tinystories_656k"; });

}  // namespace
}  // namespace kvsim
