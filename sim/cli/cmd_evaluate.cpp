// kvsim evaluate: end-to-end truth for the offline metrics. The model runs
// the context once; every (policy, budget) compresses each layer's cache with
// the replay engine's selection on this run's own tensors; the remaining
// tokens run teacher-forced with the compressed caches, beside the full
// cache; the next-token divergences go to evaluate.csv, the offline metrics
// of the same tensors and kept sets to results.csv, and how well each
// offline metric predicts the divergence to validity.csv (docs/EVALUATE.md).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "analysis/offline_validity.hpp"
#include "analysis/tidy_csv.hpp"
#include "io/atomic_file.hpp"
#include "io/dump_label.hpp"
#include "io/kept_sets_file.hpp"
#include "io/kvdump.hpp"
#include "io/errors.hpp"
#include "io/model/load_model.hpp"
#include "io/output_dir.hpp"
#include "io/text_file.hpp"
#include "io/tokenizer/load_tokenizer.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/options.hpp"
#include "sim/engine/results_table.hpp"
#include "sim/engine/evaluation.hpp"
#include "sim/run/common_options.hpp"
#include "sim/run/run_report.hpp"

namespace kvsim::cli {

int cmd_evaluate(const Args& args) {
  std::string model_path, tokens_file, prompt_file, out, policies = "all", budgets, dump_path, kept_path;
  int context_len = 0, threads = 0;
  bool no_bos = false;
  ReplayOptions opt;
  ReplayOptionText opt_text;
  po::options_description desc("evaluate options");
  desc.add_options()
      ("model,m", po::value(&model_path)->required(), "checkpoint folder or file (as kvsim capture)")
      ("tokens-file", po::value(&tokens_file), "token ids, whitespace-separated")
      ("prompt-file", po::value(&prompt_file), "UTF-8 text, tokenized with the model's tokenizer (with its special tokens, e.g. BOS)")
      ("no-bos", po::bool_switch(&no_bos), "with --prompt-file: add no special tokens (no BOS)")
      ("context-len,c", po::value(&context_len), "tokens [0, C) are the context that is compressed")
      ("policies,p", po::value(&policies)->default_value(policies), "'all' or a list (see kvsim policies)")
      ("budgets,b", po::value(&budgets), "comma-separated budgets (tokens or ratios)")
      ("dump", po::value(&dump_path), "with --kept: the dump whose tokens and context the kept sets were chosen on")
      ("kept", po::value(&kept_path), "kept.h5 of a sweep --save-kept on --dump: evaluate those kept sets instead "
                                      "of replaying --policies (writes evaluate.csv only)")
      ("out,o", po::value(&out)->required(), "output directory (evaluate.csv, validity.csv, results.csv, run.json)");
  add_replay_options(desc, opt, opt_text);
  add_threads_option(desc, threads);
  po::variables_map vm;
  if (!parse_options("evaluate", "--model M (--tokens-file F | --prompt-file P) --context-len C --budgets LIST "
                                 "[--policies LIST] [--block B] --out DIR",
                     args, desc, vm))
    return 0;
  if (kept_path.empty() != dump_path.empty()) throw UsageError("--kept and --dump go together");
  if (!kept_path.empty()) {
    if (!tokens_file.empty() || !prompt_file.empty() || vm.count("context-len") || !budgets.empty() ||
        !vm["policies"].defaulted())
      throw UsageError("--kept takes the tokens, context and items from --dump and the kept.h5; drop "
                       "--tokens-file/--prompt-file/--context-len/--policies/--budgets");
  } else {
    if (tokens_file.empty() == prompt_file.empty())
      throw UsageError("give exactly one of --tokens-file and --prompt-file");
    if (!vm.count("context-len")) throw UsageError("--context-len is required");
    if (budgets.empty()) throw UsageError("--budgets is required");
  }
  parse_replay_options(opt_text, opt);
  apply_threads_option(threads);
  SweepSpec spec;
  if (kept_path.empty()) {
    spec.policies = parse_policy_list(policies);
    spec.budgets = parse_budget_list(budgets);
  }
  spec.options = opt;
  create_output_directory(out, "--out");
  const auto t0 = std::chrono::steady_clock::now();

  const LoadedModel model = load_model(model_path, 0);
  std::vector<int> tokens;
  if (!kept_path.empty()) {
    // The kept sets were chosen on this dump's tensors: its tokens and context,
    // and a model of its shape (the file's label must be the dump's).
    const DumpReader dump(dump_path);
    const DumpAttrs& a = dump.attrs();
    const ModelConfig& m = model.config;
    if (a.n_layers != m.n_layers || a.n_heads != m.n_heads || a.n_kv_heads != m.n_kv_heads || a.head_dim != m.head_dim)
      throw InputError(dump_path + ": a dump of another model shape (" + std::to_string(a.n_layers) + " layers, " +
                       std::to_string(a.n_heads) + "/" + std::to_string(a.n_kv_heads) + " heads, d " +
                       std::to_string(a.head_dim) + ") than " + model_path);
    if (!a.context_len) throw InputError(dump_path + ": no context_len attribute");
    tokens = dump.tokens();
    context_len = *a.context_len;
  } else if (!tokens_file.empty()) {
    tokens = read_token_ids_file(tokens_file, model.config.vocab_size);
  } else {
    const auto tokenizer = load_tokenizer(model, model_path, "");
    if (!tokenizer) throw InputError(model_path + ": no tokenizer found beside the model; use --tokens-file");
    tokens = encode_prompt(*tokenizer, read_text_file(prompt_file, "--prompt-file"), model.config.bos_token_id,
                           !no_bos);
  }
  std::optional<KeptSetsFile> kept;
  if (!kept_path.empty()) {
    kept = read_kept_sets_file(kept_path);
    if (kept->dump != dump_label(dump_path))
      throw InputError(kept_path + ": holds the kept sets of dump '" + kept->dump + "', not of " + dump_path);
  }
  const Evaluation ev = kept ? evaluate_kept_sets(model, tokens, context_len, *kept)
                             : evaluate_compression(model, tokens, context_len, spec);
  const SweepResult& res = ev.offline;
  const int T = static_cast<int>(tokens.size()), W = ev.future_len;

  const std::filesystem::path dir(out);
  write_file_atomically((dir / "evaluate.csv").string(), ev.evaluate_csv());
  nlohmann::json outputs = {"evaluate.csv", "run.json"};
  if (!kept) {  // with --kept, the offline metrics are the sweep's results.csv that wrote kept.h5
    write_file_atomically((dir / "validity.csv").string(),
                          analysis::validity_csv(ev.offline_means(), ev.mean_kl_of_compressing_items()));
    write_file_atomically((dir / "results.csv").string(), results_csv(res, model.name));
    outputs = {"evaluate.csv", "validity.csv", "results.csv", "run.json"};
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& it : res.items)
    items.push_back({{"policy", it.policy_label}, {"budget_tokens", it.budget_tokens}, {"block", it.block}});
  RunReport()
      .provenance()
      .command("evaluate")
      .set("arguments", args)
      .set("model", {{"path", std::filesystem::absolute(model_path).string()}, {"name", model.name},
                     {"layers", model.config.n_layers}, {"vocab", model.config.vocab_size}})
      .set("tokens", T)
      .set("context_len", context_len)
      .set("future_positions", W)
      .set("items", items)
      .timings(wall, nlohmann::json::object())
      .warnings(res.warnings)
      .set("kept", kept ? nlohmann::json{{"file", std::filesystem::absolute(kept_path).string()},
                                          {"dump", std::filesystem::absolute(dump_path).string()}}
                        : nlohmann::json())
      .set("outputs", outputs)
      .write((dir / "run.json").string());
  res.warnings.print(std::cerr, "evaluate");
  std::cout << "wrote " << (dir / "evaluate.csv").string() << (kept ? " and run.json (" : ", validity.csv, results.csv and run.json (")
            << res.items.size() << " policy x budget items, " << W << " future positions) in " << wall << " s\n";
  return 0;
}

}  // namespace kvsim::cli
