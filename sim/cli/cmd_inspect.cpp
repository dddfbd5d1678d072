// kvsim inspect: what is in a dump, and is it sane.
#include <cmath>
#include <iomanip>
#include <iostream>

#include "io/kvdump.hpp"
#include "sim/cli/options.hpp"
#include "sim/run/progress.hpp"

namespace kvsim::cli {
namespace {

std::string shape_text(const std::vector<std::size_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

std::size_t count_nonfinite(const float* data, std::size_t n) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += !std::isfinite(data[i]);
  return bad;
}

void print_layer_stats(const DumpReader& dump) {
  const DumpAttrs& a = dump.attrs();
  Progress progress("inspect layers", a.n_layers);
  std::cout << "\nlayer\tkey_norm_mean\tkey_norm_min\tkey_norm_max\tnonfinite_q\tnonfinite_k\tnonfinite_v\n";
  for (int l = 0; l < a.n_layers; ++l) {
    LayerFields fields;
    fields.o_proj = false;
    const LayerTensors t = dump.read_layer(l, fields);
    double sum = 0, lo = INFINITY, hi = 0;
    std::size_t rows = 0;
    const std::size_t d = static_cast<std::size_t>(a.head_dim);
    for (std::size_t row = 0; row < t.k.size() / d; ++row) {
      double sq = 0;
      for (std::size_t i = 0; i < d; ++i) sq += double(t.k.data()[row * d + i]) * t.k.data()[row * d + i];
      if (!std::isfinite(sq)) continue;
      const double n = std::sqrt(sq);
      sum += n, lo = std::min(lo, n), hi = std::max(hi, n), ++rows;
    }
    std::cout << l << "\t" << (rows ? sum / rows : NAN) << "\t" << lo << "\t" << hi << "\t"
              << count_nonfinite(t.q.data(), t.q.size()) << "\t"
              << count_nonfinite(t.k.data(), t.k.size()) << "\t"
              << count_nonfinite(t.v.data(), t.v.size()) << "\n";
    progress.update(l + 1);
  }
}

}  // namespace

int cmd_inspect(const Args& args) {
  std::string path;
  bool stats = false;
  po::options_description desc("inspect options");
  desc.add_options()("dump", po::value(&path)->required(), "kvdump file")(
      "stats", po::bool_switch(&stats), "per-layer key norms and NaN/Inf counts (reads every layer)");
  po::positional_options_description positional;
  positional.add("dump", 1);
  po::variables_map vm;
  if (!parse_options("inspect", "DUMP [--stats]", args, desc, vm, &positional)) return 0;

  const DumpReader dump(path);
  set_memory_context(path);
  const DumpAttrs& a = dump.attrs();
  std::cout << "file: " << path << "\n"
            << "file_size_bytes: " << dump.file_size() << "\n"
            << "file_size_mib: " << std::fixed << std::setprecision(2)
            << dump.file_size() / 1048576.0 << "\n"
            << std::defaultfloat << std::setprecision(6) << "kvdump_version: " << a.version << "\n"
            << "model: " << a.model << "\n"
            << "source: " << a.source << "\n"
            << "n_layers: " << a.n_layers << "\n"
            << "n_heads: " << a.n_heads << "\n"
            << "n_kv_heads: " << a.n_kv_heads << "\n"
            << "head_dim: " << a.head_dim << "\n"
            << "hidden_size: " << a.hidden_size << "\n"
            << "n_tokens: " << a.n_tokens << "\n"
            << "rope_theta: " << a.rope_theta << "\n"
            << "attn_scale: " << a.scale() << (a.attn_scale ? "" : " (default 1/sqrt(head_dim))") << "\n"
            << "context_len: " << (a.context_len ? std::to_string(*a.context_len) : "absent (replay uses --window)") << "\n"
            << (a.question_len ? "question_len: " + std::to_string(*a.question_len) + "\n" : std::string())
            << "o_proj: " << (dump.has_o_proj() ? "present" : "absent") << "\n"
            << "\nlayer\tdataset\tshape\tdtype\n";
  for (int l = 0; l < a.n_layers; ++l)
    for (const char* name : {"q", "k", "v", "o_proj", "q_pre_rope", "hidden_norm"})
      if (dump.has(l, name))
        std::cout << l << "\t" << name << "\t" << shape_text(dump.shape(l, name)) << "\t"
                  << dump.dtype_name(l, name) << "\n";
  if (stats) print_layer_stats(dump);
  return 0;
}

}  // namespace kvsim::cli
