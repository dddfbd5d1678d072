// kvsim synth: seeded synthetic dumps for tests, benchmarks and demos.
#include <iostream>

#include "io/errors.hpp"
#include "io/output_file_check.hpp"
#include "sim/run/interrupt.hpp"
#include "sim/cli/options.hpp"
#include "sim/run/progress.hpp"
#include "sim/model/synth.hpp"

namespace kvsim::cli {

int cmd_synth(const Args& args) {
  SynthConfig cfg;
  std::string out, dtype = "f32", seed = "0";
  bool no_o_proj = false;
  po::options_description desc("synth options");
  desc.add_options()
      ("out,o", po::value(&out)->required(), "output dump path (.h5)")
      ("layers", po::value(&cfg.n_layers)->default_value(cfg.n_layers), "number of layers")
      ("heads", po::value(&cfg.n_heads)->default_value(cfg.n_heads), "query heads per layer")
      ("kv-heads", po::value(&cfg.n_kv_heads)->default_value(cfg.n_kv_heads), "KV heads per layer (GQA)")
      ("head-dim", po::value(&cfg.head_dim)->default_value(cfg.head_dim), "head dimension (multiple of 4)")
      ("hidden", po::value(&cfg.hidden_size)->default_value(0), "hidden size D of o_proj (0 = heads*head_dim)")
      ("tokens", po::value(&cfg.n_tokens)->default_value(cfg.n_tokens), "dumped tokens T")
      ("context-len", po::value(&cfg.context_len)->default_value(0), "context tokens C (0 = T - min(64, T/4))")
      ("no-o-proj", po::bool_switch(&no_o_proj), "omit /layers/<l>/o_proj")
      ("q-pre-rope", po::bool_switch(&cfg.with_q_pre_rope), "also write pre-RoPE queries")
      ("distinctive", po::value(&cfg.distinctive_fraction)->default_value(cfg.distinctive_fraction), "fraction of keys off the shared key direction")
      ("retrieval", po::value(&cfg.n_retrieval)->default_value(cfg.n_retrieval), "context tokens the future queries retrieve")
      ("rope-theta", po::value(&cfg.rope_theta)->default_value(cfg.rope_theta), "RoPE base")
      ("dtype", po::value(&dtype)->default_value(dtype), "storage type: f32 or f16")
      ("seed", po::value(&seed)->default_value("0"), "random seed, a non-negative integer (same seed => same datasets)")
      ("model", po::value(&cfg.model)->default_value(cfg.model), "value of the 'model' attribute");
  po::variables_map vm;
  if (!parse_options("synth", "--out FILE [options]", args, desc, vm)) return 0;
  cfg.seed = parse_unsigned_option("--seed", seed);
  cfg.with_o_proj = !no_o_proj;
  if (dtype == "f32") cfg.storage = StorageType::f32;
  else if (dtype == "f16") cfg.storage = StorageType::f16;
  else throw UsageError("--dtype must be f32 or f16, got '" + dtype + "'");
  try {
    cfg.attrs();
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
  require_creatable_output_file(out, "--out");
  set_memory_context(out);
  const InterruptGuard interrupts;
  Progress progress("synth layers", cfg.n_layers);
  write_synth_dump(cfg, out, [&](int done, int) {
    progress.update(done);
    throw_if_interrupted();  // the writer's destructor removes the temporary file
  });
  const DumpAttrs a = cfg.attrs();
  std::cout << "wrote " << out << ": " << a.n_layers << " layers, " << a.n_heads << " heads, "
            << a.n_kv_heads << " KV heads, d=" << a.head_dim << ", " << a.n_tokens
            << " tokens (context " << *a.context_len << "), seed " << cfg.seed << "\n";
  return 0;
}

}  // namespace kvsim::cli
