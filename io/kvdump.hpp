#pragma once
// kvdump v1: the HDF5 layout that captured q/k/v tensors are stored in
// (docs/FORMAT.md). The reader validates the whole file's metadata on open and
// loads one layer, one head range or one token range at a time, so dumps
// larger than memory can be replayed; the writer streams layer by layer.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

namespace kvsim {

using Tensor3 = xt::xtensor<float, 3>;
using Matrix = xt::xtensor<float, 2>;
using Vector = xt::xtensor<float, 1>;

enum class StorageType { f32, f16 };

// How a dump is laid out on disk. `compact`: the HDF5 1.10 file format
// (smaller chunk indices) and shuffle + deflate on every tensor: about 20%
// smaller for f16 tensors, read transparently by kvsim and h5py (HDF5 >= 1.10),
// at some decompression cost. For bundled corpora, where bytes are scarce.
struct DumpLayout {
  bool compact = false;
};

struct DumpAttrs {
  int version = 1;
  std::string model = "unknown";
  std::string source = "other";
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int hidden_size = 0;
  int n_tokens = 0;
  double rope_theta = 10000.0;
  std::optional<double> attn_scale;
  std::optional<int> context_len;
  // Tokens [C, C + question_len) are a question asked about the context
  // (capture --question-file): question-aware policies (finch) may read its
  // queries. Needs context_len; 0 < question_len <= n_tokens - C.
  std::optional<int> question_len;

  double scale() const;  // attn_scale or 1/sqrt(head_dim)
  int group_size() const { return n_heads / n_kv_heads; }
  // Throws InputError("<where>: ...") naming the offending attribute.
  void validate(const std::string& where) const;
};

struct LayerFields {
  bool q = true, k = true, v = true, o_proj = true;
  bool q_pre_rope = false, hidden_norm = false;
};

struct LayerTensors {
  Tensor3 q;  // [H, T, d]  post-RoPE
  Tensor3 k;  // [G, T, d]  post-RoPE
  Tensor3 v;  // [G, T, d]
  std::optional<Matrix> o_proj;        // [D, H*d]
  std::optional<Tensor3> q_pre_rope;   // [H, T, d]
  std::optional<Vector> hidden_norm;   // [T]
};

class DumpReader {
 public:
  explicit DumpReader(const std::string& path);
  ~DumpReader();
  DumpReader(DumpReader&&) noexcept;
  DumpReader& operator=(DumpReader&&) noexcept;

  const DumpAttrs& attrs() const;
  const std::string& path() const;
  std::uintmax_t file_size() const;

  // Optional datasets ("o_proj", "q_pre_rope", "hidden_norm").
  bool has(int layer, const std::string& name) const;
  bool has_o_proj() const;  // in every layer
  std::string dtype_name(int layer, const std::string& name) const;  // float32 / float16
  std::vector<std::size_t> shape(int layer, const std::string& name) const;
  // Bytes the dataset occupies as stored (elements x 4 or 2); 0 when absent.
  std::uint64_t stored_bytes(int layer, const std::string& name) const;

  std::vector<int> tokens() const;
  std::vector<std::string> token_text() const;  // empty when absent

  LayerTensors read_layer(int layer, const LayerFields& fields = {}) const;
  // Slice [head_begin, head_end) x [tok_begin, tok_end) of q, k, v or q_pre_rope.
  Tensor3 read_slice(int layer, const std::string& name, int head_begin, int head_end,
                     int tok_begin, int tok_end) const;
  Matrix read_o_proj(int layer) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DumpWriter {
 public:
  DumpWriter(const std::string& path, DumpAttrs attrs, StorageType storage = StorageType::f32,
             DumpLayout layout = {});
  ~DumpWriter();  // an unfinished dump's temporary file is removed
  DumpWriter(const DumpWriter&) = delete;
  DumpWriter& operator=(const DumpWriter&) = delete;

  void write_tokens(const std::vector<int>& ids, const std::vector<std::string>& text = {});
  void write_layer(int layer, const LayerTensors& tensors);
  // Checks that every layer and /tokens were written, closes and renames.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string layer_path(int layer, const std::string& name);  // "/layers/<l>/<name>"

}  // namespace kvsim
