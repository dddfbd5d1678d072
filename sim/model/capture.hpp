#pragma once
// Capture = prefill a prompt, greedily generate, and record per layer what
// kvdump v1 stores (DESIGN §1): post-RoPE q and k, v, pre-RoPE q, the norm
// of the hidden state entering the layer, and the o_proj weight.
#include <functional>
#include <string>
#include <vector>

#include "io/kvdump.hpp"
#include "io/model/model_weights.hpp"
#include "io/tokenizer/tokenizer.hpp"

namespace kvsim {

struct CaptureRequest {
  std::vector<int> prompt_tokens;  // prefilled in one pass (BOS included if wanted)
  int context_len = 0;             // tokens [0, C) are the context
  int question_len = 0;            // tokens [C, C + q) are a question about it (0: none)
  int generate = 0;                // greedy tokens appended after the prompt
  std::vector<int> stop_tokens;    // generation ends after one of these (it is kept)
  std::function<void(const std::string&)> progress;  // one line per event, may be empty
  // Called after each layer of each forward pass; may throw to stop the run
  // (kvsim capture stops there on SIGINT/SIGTERM). May be empty.
  std::function<void()> checkpoint;
};

struct CaptureResult {
  std::vector<int> tokens;     // prompt + generated, all fed through the model
  std::vector<int> generated;  // the generated part
  int context_len = 0;
  int question_len = 0;
  double prefill_seconds = 0, generate_seconds = 0;
  double record_seconds = 0;  // capture_to_dump's layer-by-layer recording pass
  // Per layer, token-major [T, ...] rows, as the forward pass produced them.
  struct LayerRecord {
    std::vector<float> q, k, v, q_pre_rope, hidden_norm;
  };
  std::vector<LayerRecord> layers;

  // Layer `layer` in dump layout ([H, T, d] etc.), including o_proj from `model`.
  LayerTensors layer_tensors(const LoadedModel& model, int layer) const;
};

CaptureResult run_capture(const LoadedModel& model, const CaptureRequest& request);

// Floating-point operations of one prefill of n tokens (multiply-add = 2):
// every layer's q/k/v/o projections and SwiGLU MLP (2·n·in·out each), the
// causal attention (QK^T and PV over the n(n+1)/2 visible pairs per head),
// and the lm_head for the last token. Norms, RoPE and softmax are left out
// (they are O(n·D), not GEMM work).
double prefill_flops(const ModelConfig& c, int n_tokens);

struct DumpMetadata {
  std::string model_name;
  std::string source;  // DESIGN §1 `source`
  StorageType storage = StorageType::f32;
  DumpLayout layout;
  bool q_pre_rope = true;  // false: no /layers/<l>/q_pre_rope (smaller dumps; policies that need it say so)
};

// The dump attributes of `result` (what capture_to_dump records).
DumpAttrs capture_dump_attrs(const LoadedModel& model, const CaptureResult& result, const DumpMetadata& meta);

// A capture streamed into the dump at `path` (kvsim capture): greedy
// generation first (with every layer's KV cache, recording nothing), then one
// layer-by-layer pass over all the tokens that writes each layer's tensors as
// soon as they are computed, so the recorded tensors never exceed one layer;
// peak memory = weights + activations + one layer's tensors (+ the generation's
// KV cache, freed before recording). The result holds tokens and timings, no
// layers. The dump is written atomically (temporary name until complete).
CaptureResult capture_to_dump(const LoadedModel& model, const CaptureRequest& request, const std::string& path,
                              const Tokenizer* tokenizer, const DumpMetadata& meta);

}  // namespace kvsim
