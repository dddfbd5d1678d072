// kvsim analyze: PCA key diversity and the diversity–attention correlation
// (DESIGN §5) of a dump; tidy CSVs described in docs/ANALYSIS.md.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <iostream>
#include <sstream>

#include "analysis/analyze_dump.hpp"
#include "analysis/bootstrap.hpp"
#include "analysis/corpus_correlation.hpp"
#include "io/atomic_file.hpp"
#include "io/dump_corpus.hpp"
#include "io/errors.hpp"
#include "io/kept_sets_file.hpp"
#include "io/kvdump.hpp"
#include "sim/cli/options.hpp"
#include "io/layer_geometry.hpp"
#include "sim/engine/engine_kept_sets.hpp"
#include "sim/run/common_options.hpp"
#include "sim/run/run_report.hpp"

namespace kvsim::cli {

namespace {

// One dump's analysis into options.out_dir (its CSVs and analyze.json); the CSVs written.
std::vector<std::string> analyze_one(const std::string& dump, analysis::AnalyzeOptions o, const po::variables_map& vm,
                                     const std::string& kept_file, int kept_item, const std::string& policy,
                                     const std::string& budget, const ReplayOptions& replay, std::ostream& summary,
                                     const std::string& corpus_label = "") {
  const DumpReader reader(dump);
  // A corpus's kept/<d>.h5 must hold dump d's sets: a list in another order
  // would otherwise colour one dump's keys by another's kept sets.
  if (!corpus_label.empty() && !kept_file.empty()) {
    const std::string recorded = read_kept_sets_file(kept_file).dump;
    if (recorded != corpus_label)
      throw InputError(kept_file + ": holds the kept sets of dump '" + recorded + "', but dump " +
                       std::filesystem::path(kept_file).stem().string() + " of this corpus is '" + corpus_label +
                       "' (analyse the corpus the sweep wrote it from, in the same order)");
  }
  set_memory_context(dump);
  WarningLog warnings;
  if (!vm["window"].defaulted()) warn_if_window_ignored(warnings, o.window, reader.attrs());
  if (!kept_file.empty() && std::filesystem::path(kept_file).extension() == ".h5")
    o.kept = analysis::kept_sets_from_kept_file(kept_file, reader.attrs(),
                                                resolve_context_len(reader.attrs(), o.window), kept_item);
  else if (!kept_file.empty())
    o.kept = analysis::KeptSets{"file:" + kept_file, "", analysis::kept_sets_from_csv(kept_file, reader.attrs())};
  if (!policy.empty()) {
    EngineKeptSets replayed = kept_sets_from_engine(reader, policy, budget, replay, o.layers);
    o.kept = std::move(replayed.sets);
    warnings.add_all(replayed.warnings);
  }
  warnings.print(std::cerr, "analyze");
  const analysis::AnalyzeOutcome outcome = analysis::analyze_dump(reader, o, summary);
  const std::string record = (std::filesystem::path(o.out_dir) / analysis::kAnalyzeMetaFile).string();
  RunReport().provenance().merge(outcome.record).warnings(warnings).write(record);
  summary << "  wrote " << record << "\n";
  return outcome.written;
}

}  // namespace

int cmd_analyze(const Args& args) {
  analysis::AnalyzeOptions o;
  std::vector<std::string> dumps;
  std::string dump_list, layers, kept_file, policy, budget;
  int kept_item = -1;
  ReplayOptions replay;
  ReplayOptionText replay_text;
  po::options_description desc("analyze options");
  desc.add_options()
      ("dump,d", po::value(&dumps)->composing(), "kvdump file (.h5); repeat it to analyse a corpus")
      ("dump-list", po::value(&dump_list), "file with one dump path per line (as for sweep)")
      ("out,o", po::value(&o.out_dir)->required(), "output directory for the CSVs")
      ("pca", po::bool_switch(&o.pca), "PCA key diversity per (layer, KV head)")
      ("correlation", po::bool_switch(&o.correlation),
       "distinctiveness/K-norm vs attention received per (layer, query head)")
      ("layers", po::value(&layers), "comma-separated layer subset (default: all)");
  add_window_option(desc, o.window);
  desc.add_options()
      ("bins", po::value(&o.n_bins)->default_value(10), "quantile bins of the key score (10 = deciles)")
      ("kept", po::value(&kept_file),
       "PCA kept/evicted flags from a CSV with columns layer,kv_head,position, or a kept.h5 (--save-kept); "
       "a corpus: the kept/ folder of a corpus sweep's --save-kept")
      ("kept-item", po::value(&kept_item)->default_value(-1),
       "with a kept.h5 of several (policy, budget) items: which one (results.csv item order, from 0)")
      ("policy,p", po::value(&policy), "PCA kept/evicted flags from replaying this policy (with --budget)")
      ("budget,b", po::value(&budget), "budget for --policy: tokens (512) or ratio of the context (0.1)");
  add_replay_options(desc, replay, replay_text, "--policy replay: ");
  po::variables_map vm;
  if (!parse_options("analyze", "--dump D [--dump D2 ...|--dump-list F] (--pca | --correlation) --out DIR [options]",
                     args, desc, vm))
    return 0;
  if (!o.pca && !o.correlation) throw UsageError("choose --pca and/or --correlation");
  if (o.n_bins < 1) throw UsageError("--bins must be at least 1");
  if (policy.empty() != budget.empty()) throw UsageError("--policy and --budget go together");
  if (!policy.empty() && !kept_file.empty()) throw UsageError("--kept and --policy exclude each other");
  if ((!policy.empty() || !kept_file.empty()) && !o.pca)
    throw UsageError("--kept/--policy only affect --pca");
  parse_replay_options(replay_text, replay);
  check_window_option(o.window);
  replay.window = o.window;
  o.layers = parse_layer_list(layers);  // checked against the dump by select_layers, as the sweep does

  const std::vector<CorpusEntry> corpus = make_corpus(dumps, dump_list);
  if (corpus.size() > 1 && !kept_file.empty() && !std::filesystem::is_directory(kept_file))
    throw UsageError("--kept " + kept_file + ": a corpus takes the folder a corpus sweep's --save-kept wrote "
                     "(OUT/kept, one <d>.h5 per dump), or replays kept sets with --policy/--budget");
  if (corpus.size() == 1) {
    analyze_one(corpus[0].path, o, vm, kept_file, kept_item, policy, budget, replay, std::cout);
    return 0;
  }
  // A corpus: each dump's analysis in OUT/per_dump/<index>/ (no label reaches
  // a path), its rows gathered into OUT/<file>.csv, and the correlation's
  // summary over dumps in correlation_corpus.csv.
  const std::filesystem::path out(o.out_dir);
  std::vector<std::string> files;
  for (std::size_t d = 0; d < corpus.size(); ++d) {
    analysis::AnalyzeOptions one = o;
    one.out_dir = (out / "per_dump" / std::to_string(d)).string();
    std::ostringstream quiet;
    const std::string kept =
        kept_file.empty() ? "" : (std::filesystem::path(kept_file) / (std::to_string(d) + ".h5")).string();
    if (!kept.empty() && !std::filesystem::is_regular_file(kept))
      throw InputError(kept + ": missing (--kept " + kept_file + " needs one <d>.h5 per dump of the corpus, d = 0.." +
                       std::to_string(corpus.size() - 1) + ")");
    files = analyze_one(corpus[d].path, one, vm, kept, kept_item, policy, budget, replay, quiet, corpus[d].label);
  }
  for (const auto& file : files) {
    const std::string name = std::filesystem::path(file).filename().string();
    std::string joined;
    for (std::size_t d = 0; d < corpus.size(); ++d) {
      std::ifstream in(out / "per_dump" / std::to_string(d) / name, std::ios::binary);
      if (!in) throw InputError((out / "per_dump" / std::to_string(d) / name).string() + ": cannot read");
      std::string line;
      bool header = true;
      while (std::getline(in, line)) {
        if (header && d > 0) {
          header = false;
          continue;
        }
        header = false;
        joined += line + "\n";
      }
    }
    write_file_atomically((out / name).string(), joined);
    std::cout << "  wrote " << (out / name).string() << " (" << corpus.size() << " dumps)\n";
  }
  if (o.correlation) {
    const std::string summary = (out / analysis::kCorrelationCorpusFile).string();
    write_file_atomically(summary, analysis::correlation_corpus_csv((out / analysis::kCorrelationFile).string(),
                                                                    replay.seed));
    std::cout << "  wrote " << summary << "\n";
  }
  nlohmann::json labels = nlohmann::json::array();
  for (std::size_t d = 0; d < corpus.size(); ++d)
    labels.push_back({{"label", corpus[d].label}, {"path", std::filesystem::absolute(corpus[d].path).string()},
                      {"analysis", "per_dump/" + std::to_string(d)}});
  RunReport()
      .provenance()
      .command("analyze")
      .set("dumps", labels)
      .set("bootstrap_resamples", analysis::kBootstrapResamples)
      .set("interval_level", analysis::kIntervalLevel)
      .write((out / analysis::kAnalyzeMetaFile).string());
  return 0;
}

}  // namespace kvsim::cli
