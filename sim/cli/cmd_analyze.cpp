// kvsim analyze: PCA key diversity and the diversity–attention correlation
// (DESIGN §5) of a dump; tidy CSVs described in docs/ANALYSIS.md.
#include <filesystem>
#include <iostream>
#include <sstream>

#include "analysis/analyze_dump.hpp"
#include "io/errors.hpp"
#include "io/kvdump.hpp"
#include "sim/cli/options.hpp"
#include "io/layer_geometry.hpp"
#include "sim/engine/engine_kept_sets.hpp"
#include "sim/run/run_report.hpp"

namespace kvsim::cli {

int cmd_analyze(const Args& args) {
  analysis::AnalyzeOptions o;
  std::string dump, layers, kept_file, policy, budget, gqa = "mean", seed = "0";
  ReplayOptions replay;
  po::options_description desc("analyze options");
  desc.add_options()
      ("dump,d", po::value(&dump)->required(), "kvdump file (.h5)")
      ("out,o", po::value(&o.out_dir)->required(), "output directory for the CSVs")
      ("pca", po::bool_switch(&o.pca), "PCA key diversity per (layer, KV head)")
      ("correlation", po::bool_switch(&o.correlation),
       "distinctiveness/K-norm vs attention received per (layer, query head)")
      ("layers", po::value(&layers), "comma-separated layer subset (default: all)")
      ("window", po::value(&o.window)->default_value(128),
       "future-query window W: C = T - W when the dump has no context_len")
      ("bins", po::value(&o.n_bins)->default_value(10), "quantile bins of the key score (10 = deciles)")
      ("kept", po::value(&kept_file),
       "PCA kept/evicted flags from a CSV with columns layer,kv_head,position")
      ("policy,p", po::value(&policy), "PCA kept/evicted flags from replaying this policy (with --budget)")
      ("budget,b", po::value(&budget), "budget for --policy: tokens (512) or ratio of the context (0.1)")
      ("block", po::value(&replay.block)->default_value(128), "--policy replay: block size (0 = one-shot)")
      ("sinks", po::value(&replay.sinks)->default_value(0), "--policy replay: protect the first S tokens")
      ("recent", po::value(&replay.recent)->default_value(0), "--policy replay: protect the last R tokens")
      ("seed", po::value(&seed)->default_value("0"), "--policy replay: seed (random policy), a non-negative integer")
      ("gqa", po::value(&gqa)->default_value(gqa), "--policy replay: GQA reduction, mean or max");
  po::variables_map vm;
  if (!parse_options("analyze", "--dump D (--pca | --correlation) --out DIR [options]", args, desc, vm))
    return 0;
  if (!o.pca && !o.correlation) throw UsageError("choose --pca and/or --correlation");
  if (o.n_bins < 1) throw UsageError("--bins must be at least 1");
  if (policy.empty() != budget.empty()) throw UsageError("--policy and --budget go together");
  if (!policy.empty() && !kept_file.empty()) throw UsageError("--kept and --policy exclude each other");
  if ((!policy.empty() || !kept_file.empty()) && !o.pca)
    throw UsageError("--kept/--policy only affect --pca");
  if (gqa != "mean" && gqa != "max") throw UsageError("--gqa: expected mean or max, got '" + gqa + "'");
  replay.gqa = gqa == "max" ? GqaReduce::max : GqaReduce::mean;
  replay.seed = parse_unsigned_option("--seed", seed);
  if (o.window < 1) throw UsageError("--window " + std::to_string(o.window) + " must be >= 1");
  replay.window = o.window;
  o.layers = parse_layer_list(layers);
  for (int layer : o.layers)
    if (layer < 0) throw UsageError("--layers: '" + std::to_string(layer) + "' is not a layer index");

  const DumpReader reader(dump);
  set_memory_context(dump);
  WarningLog warnings;
  if (!vm["window"].defaulted() && reader.attrs().context_len)
    warnings.add({"window_ignored",
                    "--window " + std::to_string(o.window) + " is ignored: the dump has context_len=" +
                        std::to_string(*reader.attrs().context_len) + ", which sets the context",
                    "--window", "", -1, -1});
  if (!kept_file.empty())
    o.kept = analysis::KeptSets{"file:" + kept_file, "", analysis::kept_sets_from_csv(kept_file, reader.attrs())};
  if (!policy.empty()) {
    EngineKeptSets replayed = kept_sets_from_engine(reader, policy, budget, replay, o.layers);
    o.kept = std::move(replayed.sets);
    warnings.add_all(replayed.warnings);
  }
  warnings.print(std::cerr, "analyze");
  const analysis::AnalyzeOutcome outcome = analysis::analyze_dump(reader, o, std::cout);
  const std::string record = (std::filesystem::path(o.out_dir) / analysis::kAnalyzeMetaFile).string();
  RunReport().provenance().merge(outcome.record).warnings(warnings).write(record);
  std::cout << "  wrote " << record << "\n";
  return 0;
}

}  // namespace kvsim::cli
