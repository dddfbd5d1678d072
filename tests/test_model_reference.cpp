// The fp32 forward pass against the float64 goldens shipped with both shared
// models (reference_qkv.json): per position and recorded layer, the RMSNorm
// output, q/k before and after RoPE, v, the attention output before o_proj,
// and the logits. Run once token by token (KV cache) and once as a single
// prefill, which must agree with the same goldens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "io/model/load_model.hpp"
#include "sim/model/transformer.hpp"
#include "tests/model_support.hpp"

namespace kvsim {
namespace {

using nlohmann::json;
constexpr double kRelativeTolerance = 1e-4;

// Max-norm relative error: robust for vectors with entries near zero.
double relative_error(const float* actual, const json& expected) {
  double max_diff = 0, max_ref = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double ref = expected[i].get<double>();
    max_diff = std::max(max_diff, std::abs(actual[i] - ref));
    max_ref = std::max(max_ref, std::abs(ref));
  }
  return max_diff / std::max(max_ref, 1e-12);
}

// Keeps every row the forward pass shows for each layer, by absolute position.
struct Rows {
  std::map<std::string, std::vector<float>> by_name;
};
class RecordAll : public ForwardObserver {
 public:
  explicit RecordAll(const ModelConfig& c) : c_(c) {}
  void on_layer(int layer, const LayerActivations& a) override {
    for (int r = 0; r < a.n_tokens; ++r) {
      Rows& rows = seen[{layer, a.first_position + r}];
      const std::size_t D = c_.hidden_size, QD = c_.q_dim(), KD = c_.kv_dim();
      auto put = [&](const char* name, const float* data, std::size_t width) {
        rows.by_name[name].assign(data + r * width, data + (r + 1) * width);
      };
      put("attn_norm_in", a.attn_norm_out, D);
      put("q_pre_rope", a.q_pre_rope, QD);
      put("k_pre_rope", a.k_pre_rope, KD);
      put("q", a.q, QD);
      put("k", a.k, KD);
      put("v", a.v, KD);
      put("attn_out_pre_wo", a.attn_out, QD);
    }
  }
  std::map<std::pair<int, int>, Rows> seen;  // (layer, position)

 private:
  const ModelConfig& c_;
};

void expect_logits_match(const std::vector<float>& logits, const json& position) {
  double max_abs = 0;
  for (const auto& pair : position["top5_logits"]) max_abs = std::max(max_abs, std::abs(pair[1].get<double>()));
  for (const auto& pair : position["top5_logits"]) {
    const int id = pair[0].get<int>();
    EXPECT_NEAR(logits.at(id), pair[1].get<double>(), kRelativeTolerance * max_abs) << "top-5 logit of id " << id;
  }
  const json& first8 = position["logits_first8"];
  for (std::size_t i = 0; i < first8.size(); ++i)
    EXPECT_NEAR(logits[i], first8[i].get<double>(), kRelativeTolerance * max_abs) << "logit " << i;
  EXPECT_EQ(argmax(logits), position["top5_logits"][0][0].get<int>());
}

class ModelReference : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ModelReference, MatchesFloat64Goldens) {
  const auto& [folder, one_prefill] = GetParam();
  KVSIM_REQUIRE_SHARED_MODEL(golden_path, folder + "/reference_qkv.json");
  KVSIM_REQUIRE_SHARED_MODEL(model_path, test::model_path_for(folder));
  const json golden = test::read_json(golden_path);
  const LoadedModel model = load_model(model_path);
  ASSERT_EQ(model.config.hidden_size, golden["config"]["dim"].get<int>());
  ASSERT_EQ(model.config.head_dim, golden["config"]["head_dim"].get<int>());

  const auto tokens = golden["input_tokens"].get<std::vector<int>>();
  Transformer transformer(model, static_cast<int>(tokens.size()));
  RecordAll recorder(model.config);
  std::vector<std::vector<float>> logits_per_step;
  if (one_prefill) {
    logits_per_step.push_back(transformer.forward(tokens, &recorder));
  } else {
    for (int token : tokens) logits_per_step.push_back(transformer.forward({token}, &recorder));
  }

  int compared = 0;
  for (const json& position : golden["positions"]) {
    const int pos = position["pos"].get<int>();
    for (const auto& [layer_name, fields] : position["layers"].items()) {
      const int layer = std::stoi(layer_name);
      const Rows& rows = recorder.seen.at({layer, pos});
      for (const auto& [field, values] : fields.items()) {
        const auto& actual = rows.by_name.at(field);
        ASSERT_EQ(actual.size(), values.size()) << field;
        EXPECT_LE(relative_error(actual.data(), values), kRelativeTolerance)
            << folder << " position " << pos << " layer " << layer << " " << field;
        ++compared;
      }
    }
    const bool have_logits = !one_prefill || pos + 1 == static_cast<int>(tokens.size());
    if (have_logits) {
      SCOPED_TRACE(folder + " logits at position " + std::to_string(pos));
      expect_logits_match(logits_per_step[one_prefill ? 0 : pos], position);
    }
  }
  EXPECT_EQ(compared, 8 * 2 * 7) << "every golden field of 8 positions x 2 layers was compared";
}

INSTANTIATE_TEST_SUITE_P(ModelShared, ModelReference,
                         ::testing::Combine(::testing::Values("stories260K", "tinystories-656k"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param) + (std::get<1>(info.param) ? "_prefill" : "_stepwise");
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace kvsim
