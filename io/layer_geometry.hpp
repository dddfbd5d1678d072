#pragma once
// A layer's shape as the dump gives it, and the context/future split
// (DESIGN §2): shared by the policies, the analysis and the engine.
#include <string>
#include <vector>

#include "io/kvdump.hpp"

namespace kvsim {

// One layer's geometry plus the context/future split (DESIGN §2).
struct LayerGeom {
  int H = 0;  // query heads
  int G = 0;  // KV heads
  int r = 1;  // GQA group size H/G
  int d = 0;  // head dim
  int T = 0;  // dumped tokens
  int C = 0;  // context tokens [0, C); future queries [C, T)
  int D = 0;  // hidden size (rows of o_proj)
  int n_layers = 0;  // layers of the model (0 = unknown): layer-budget allocators need it
  // RoPE as far as the dump's attributes tell (expected_attention without
  // q_pre_rope): base theta, and whether pairs are interleaved (2i, 2i+1),
  // as in llama2.c checkpoints, or split halves (i, i + d/2), as in HF.
  double rope_theta = 10000.0;
  bool rope_interleaved = false;
  int question_len = 0;  // tokens [C, C + question_len) ask about the context (0: none recorded)
  float scale = 1.f;
  int W() const { return T - C; }
  int kv_of(int h) const { return h / r; }
  static LayerGeom from(const DumpAttrs& attrs, int context_len);
};

// "0,3,5" -> {0, 3, 5}; UsageError naming --layers for a non-integer item.
// Range checks against the dump: select_layers().
std::vector<int> parse_layer_list(const std::string& text);

// The layers a command works on: `requested` as given to --layers (empty = all
// n_layers, in order). UsageError naming --layers for a layer outside
// [0, n_layers) or listed twice (it would repeat its rows).
std::vector<int> select_layers(const std::vector<int>& requested, int n_layers);

// C from the dump's context_len, else T - window. Throws InputError/UsageError
// unless 1 <= C < T.
int resolve_context_len(const DumpAttrs& attrs, int window);

// Checks that in-memory tensors match the geometry (InputError naming the tensor).
void check_layer_shapes(const LayerTensors& x, const LayerGeom& g, int layer);

// Kept context positions per KV head, sorted ascending.
using KeptSet = std::vector<std::vector<int>>;

}  // namespace kvsim
