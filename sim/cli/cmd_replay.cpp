// kvsim replay / kvsim sweep: replay a dump's context through eviction policies
// and measure recall/error on the future queries (DESIGN §2-§4, §6).
#include <omp.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/dump_label.hpp"
#include "io/errors.hpp"
#include "io/kept_sets_file.hpp"
#include "io/kvdump.hpp"
#include "sim/cli/options.hpp"
#include "io/layer_geometry.hpp"
#include "sim/run/common_options.hpp"
#include "sim/run/interrupt.hpp"
#include "sim/run/journal.hpp"
#include "sim/run/output_lock.hpp"
#include "sim/run/progress.hpp"
#include "sim/run/run_report.hpp"
#include "sim/engine/results_table.hpp"
#include "sim/engine/sweep.hpp"
#include "sim/run/warnings.hpp"

namespace kvsim::cli {
namespace {

struct CommonOptions {
  std::string dump, out, layers;
  ReplayOptions opt;
  ReplayOptionText opt_text;  // --seed, --gqa as given
  int threads = 0;
  bool quiet = false, resume = false, allow_nonfinite = false, save_kept = false;
  bool window_given = false;  // --window on the command line, not the default
};

void add_common(po::options_description& desc, CommonOptions& c) {
  desc.add_options()
      ("dump,d", po::value(&c.dump)->required(), "kvdump file (.h5)")
      ("out,o", po::value(&c.out)->required(), "output directory (results.csv, run.json)");
  add_replay_options(desc, c.opt, c.opt_text);
  add_window_option(desc, c.opt.window);
  desc.add_options()
      ("layers", po::value(&c.layers), "comma-separated layer subset (default: all)");
  add_threads_option(desc, c.threads);
  desc.add_options()
      ("quiet,q", po::bool_switch(&c.quiet), "no progress and no summary table")
      ("resume", po::bool_switch(&c.resume), "continue an interrupted run into the same --out from its journal (DIR/partial)")
      ("allow-nonfinite", po::bool_switch(&c.allow_nonfinite), "skip (layer, KV head) units with NaN/Inf in q/k/v/o_proj instead of failing")
      ("save-kept", po::bool_switch(&c.save_kept), "also write kept.h5: the final kept positions per (policy, budget, layer, KV head)");
}

// Unit files store metric ids (positions in the metric table): a journal written
// by a build with another metric list would resume with wrong labels.
nlohmann::json journal_metric_names() {
  nlohmann::json names = nlohmann::json::array();
  for (int id = 0; id < kNumMetricIds; ++id) names.push_back(metric_name(id));
  return names;
}

// What identifies a run for --resume: the dump (path, size, mtime, attributes)
// and every argument that changes results, and the metric list; not --threads/--quiet/--out, nor
// --allow-nonfinite (units without NaN/Inf are the same either way, and units
// with them are never journaled without it: a run that stopped on a NaN can be
// resumed with --allow-nonfinite).
nlohmann::json fingerprint(const std::string& command, const CommonOptions& c, const SweepSpec& spec,
                          const DumpReader& reader) {
  nlohmann::json pols = nlohmann::json::array();
  for (const auto& p : spec.policies) pols.push_back({{"label", p.label()}, {"params", p.params.values}});
  nlohmann::json buds = nlohmann::json::array();
  for (const auto& b : spec.budgets) buds.push_back(b.text);
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(c.dump, ec);
  return {{"command", command},
          {"dump", {{"path", std::filesystem::absolute(c.dump).string()},
                    {"size_bytes", reader.file_size()},
                    {"mtime", ec ? 0 : static_cast<long long>(mtime.time_since_epoch().count())},
                    {"attrs", dump_attrs_json(reader.attrs())}}},
          {"policies", pols},
          {"budgets", buds},
          {"options", {{"block", c.opt.block}, {"sinks", c.opt.sinks}, {"recent", c.opt.recent},
                       {"window", c.opt.window}, {"seed", c.opt.seed}, {"gqa", c.opt_text.gqa}}},
          {"layers", spec.layers},
          {"metrics", journal_metric_names()}};
}

// --- the steps of a replay/sweep run, in order ------------------------------

// Checks the shared options and puts them into the spec, before the dump is opened.
void apply_options(CommonOptions& c, SweepSpec& spec) {
  parse_replay_options(c.opt_text, c.opt);
  check_window_option(c.opt.window);
  apply_threads_option(c.threads);
  spec.options = c.opt;
  if (!c.layers.empty()) spec.layers = parse_layer_list(c.layers);
  spec.allow_nonfinite = c.allow_nonfinite;
  if (c.save_kept && c.resume)
    throw UsageError("--save-kept cannot be combined with --resume: the kept sets of the units the interrupted "
                     "run finished are not journaled; rerun without --resume");
  spec.keep_sets = c.save_kept;
}

// What running out of memory would mean here: one layer's tensors (q, k, v,
// o_proj) and the future queries' attention (DESIGN §4).
void name_memory_need(const CommonOptions& c, const DumpReader& reader) {
  const LayerGeom g = LayerGeom::from(reader.attrs(), resolve_context_len(reader.attrs(), c.opt.window));
  const double floats = double(g.H) * g.T * g.d + 2.0 * g.G * g.T * g.d + double(g.D) * g.H * g.d +
                        double(g.H) * g.W() * g.T;
  set_memory_context(c.dump + ": replaying one layer needs " + approximate_bytes(4 * floats));
}

WarningLog option_warnings(const CommonOptions& c, const DumpReader& reader) {
  WarningLog warnings;
  if (c.window_given) warn_if_window_ignored(warnings, c.opt.window, reader.attrs());
  return warnings;
}

// Runs the sweep with finished units journaled (and stopping at a signal); on
// a failure, says how to resume.
SweepResult run_journaled_sweep(const std::string& command, const DumpReader& reader, SweepSpec& spec,
                                SweepJournal& journal, std::unique_ptr<Progress>& progress) {
  spec.store = &journal;
  SweepResult res;
  try {
    res = run_sweep(DumpLayerSource(reader), spec);
  } catch (...) {
    progress.reset();
    if (const long kept = journal.units_on_disk())
      std::cerr << "kvsim " << command << ": note: " << kept << " finished units are kept in "
                << journal.dir() << "; rerun with --resume to continue\n";
    throw;
  }
  progress.reset();
  return res;
}

// The exit status of a run that a signal stopped; its journal stays for --resume.
int report_interruption(const std::string& command, const SweepResult& res, const SweepJournal& journal) {
  const int sig = interrupt_signal();
  std::cerr << "kvsim " << command << ": interrupted (" << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << "): " << journal.units_on_disk() << " of " << res.units_total << " units kept in "
            << journal.dir() << "; rerun with --resume to continue\n";
  return 128 + sig;
}

void print_caveats(const std::string& command, const WarningLog& warnings, const SweepResult& res) {
  warnings.print(std::cerr, command);
  for (const auto& s : res.skipped)
    std::cerr << "kvsim " << command << ": note: skipped layer " << s.layer << " KV head " << s.kv_head
              << " (--allow-nonfinite): " << s.reason << "\n";
}

void write_results_csv(const CommonOptions& c, const SweepResult& res) {
  write_file_atomically((std::filesystem::path(c.out) / "results.csv").string(),
                        results_csv(res, dump_label(c.dump)));
}

// kept.h5 (io/kept_sets_file.hpp). A KV head dropped by --allow-nonfinite
// keeps nothing there; the others keep their original index.
void write_kept_file(const CommonOptions& c, const SweepResult& res) {
  std::vector<KeptSetsItem> items;
  for (std::size_t i = 0; i < res.items.size(); ++i) {
    const SweepItem& it = res.items[i];
    KeptSetsItem out{it.policy_label, it.budget_tokens, it.budget_ratio, it.block, res.layers, {}};
    for (std::size_t l = 0; l < res.layers.size(); ++l) {
      std::vector<char> dropped(res.geom.G, 0);
      for (const auto& s : res.skipped)
        if (s.layer == res.layers[l]) dropped[s.kv_head] = 1;
      KeptSet full(res.geom.G);
      std::size_t next = 0;
      for (int g = 0; g < res.geom.G; ++g)
        if (!dropped[g]) full[g] = res.kept[i][l].at(next++);
      out.kept.push_back(std::move(full));
    }
    items.push_back(std::move(out));
  }
  write_kept_sets_file((std::filesystem::path(c.out) / "kept.h5").string(), dump_label(c.dump), res.geom.C,
                       res.geom.G, items);
}

nlohmann::json policies_json(const SweepSpec& spec) {
  nlohmann::json pols = nlohmann::json::array();
  for (const auto& p : spec.policies)
    pols.push_back({{"label", p.label()}, {"name", p.name}, {"params", p.params.values}});
  return pols;
}

nlohmann::json budgets_json(const SweepSpec& spec, const SweepResult& res) {
  nlohmann::json buds = nlohmann::json::array();
  for (std::size_t b = 0; b < spec.budgets.size(); ++b)
    buds.push_back({{"text", spec.budgets[b].text},
                    {"kind", spec.budgets[b].ratio ? "ratio" : "tokens"},
                    {"value", spec.budgets[b].value},
                    {"tokens", res.budget_tokens[b]}});
  return buds;
}

nlohmann::json step_timings_json(const SweepResult& res) {
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t i = 0; i < res.items.size(); ++i) {
    const auto& it = res.items[i];
    per[it.policy_label + "@" + std::to_string(it.budget_tokens)] = {
        {"select", res.select_seconds[i]}, {"metrics", res.metric_seconds[i]}};
  }
  return {{"read", res.read_seconds},
          {"future_attention", res.future_seconds},
          {"model_wide_prepass", res.prepass_seconds},
          {"items", per}};
}

void write_run_json(const std::string& command, const Args& args, const CommonOptions& c, const SweepSpec& spec,
                    const DumpReader& reader, const SweepResult& res, const WarningLog& warnings, double wall) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : res.skipped)
    skipped.push_back({{"layer", s.layer}, {"kv_head", s.kv_head}, {"reason", s.reason}});
  RunReport()
      .provenance()
      .command(command)
      .set("arguments", args)
      .dump(replayed_dump_json(reader))
      .set("context_len", res.geom.C)
      .set("future_queries", res.geom.W())
      .set("policies", policies_json(spec))
      .set("budgets", budgets_json(spec, res))
      .set("options", {{"block", c.opt.block}, {"sinks", c.opt.sinks}, {"recent", c.opt.recent},
                       {"window", c.opt.window}, {"seed", c.opt.seed}, {"gqa", c.opt_text.gqa},
                       {"threads", omp_get_max_threads()}})
      .set("layers", res.layers)
      .set("seed", c.opt.seed)
      .timings(wall, step_timings_json(res))
      .set("units", {{"total", res.units_total}, {"resumed", res.units_resumed}, {"computed", res.units_computed}})
      .set("allow_nonfinite", c.allow_nonfinite)
      .set("skipped_units", skipped)
      .warnings(warnings)
      .set("outputs", c.save_kept ? nlohmann::json{"results.csv", "run.json", "kept.h5"}
                                  : nlohmann::json{"results.csv", "run.json"})
      .write((std::filesystem::path(c.out) / "run.json").string());
}

void print_summary(const std::string& command, const CommonOptions& c, const SweepResult& res, double wall) {
  if (res.units_resumed > 0)
    std::cerr << "kvsim " << command << ": resumed " << res.units_resumed << " of " << res.units_total
              << " units from the journal, computed " << res.units_computed << "\n";
  if (!c.quiet) std::cout << summary_table(res);
  std::cout << "wrote " << (std::filesystem::path(c.out) / "results.csv").string() << " ("
            << res.rows.size() << " rows) and run.json in " << std::fixed;
  std::cout.precision(1);
  std::cout << wall << " s\n";
}

int run(const std::string& command, const Args& args, CommonOptions& c, SweepSpec spec) {
  apply_options(c, spec);
  const auto t0 = std::chrono::steady_clock::now();
  DumpReader reader(c.dump);
  name_memory_need(c, reader);
  WarningLog warnings = option_warnings(c, reader);
  std::unique_ptr<Progress> progress;
  if (!c.quiet)
    spec.progress = [&](long done, long total) {
      if (!progress) progress = std::make_unique<Progress>(command + " layer passes", total, 2.0);
      progress->update(done);
    };
  // Up front, before any compute: the output directory is created, writable
  // and ours alone for the whole run.
  const OutputDirLock lock(c.out, "--out");
  SweepJournal journal(c.out, fingerprint(command, c, spec, reader), c.resume);
  const InterruptGuard interrupts;  // until the outputs are written: a signal only stops the sweep
  spec.stop_requested = interrupt_requested;

  const SweepResult res = run_journaled_sweep(command, reader, spec, journal, progress);
  if (res.stopped) return report_interruption(command, res, journal);
  warnings.add_all(res.warnings);
  print_caveats(command, warnings, res);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  write_results_csv(c, res);
  if (c.save_kept) write_kept_file(c, res);
  write_run_json(command, args, c, spec, reader, res, warnings, wall);
  journal.remove();  // results.csv and run.json are complete
  print_summary(command, c, res, wall);
  return 0;
}

}  // namespace

int cmd_replay(const Args& args) {
  CommonOptions c;
  std::string policy, budget;
  po::options_description desc("replay options");
  desc.add_options()
      ("policy,p", po::value(&policy)->required(), "policy, e.g. snapkv:window=32,kernel=7 (see kvsim policies)")
      ("budget,b", po::value(&budget)->required(), "context tokens kept per KV head (2048) or ratio of the context (0.25)");
  add_common(desc, c);
  po::variables_map vm;
  if (!parse_options("replay", "--dump D --policy P --budget B --out DIR [options]", args, desc, vm))
    return 0;
  c.window_given = !vm["window"].defaulted();
  SweepSpec spec;
  spec.policies.push_back(parse_policy_spec(policy));
  spec.budgets.push_back(BudgetSpec::parse(budget));
  return run("replay", args, c, spec);
}

int cmd_sweep(const Args& args) {
  CommonOptions c;
  std::string policies = "all", budgets = "0.05,0.1,0.25,0.5";
  po::options_description desc("sweep options");
  desc.add_options()
      ("policies,p", po::value(&policies)->default_value(policies), "'all' or a list: knorm,snapkv:window=32,kernel=7,h2o")
      ("budgets,b", po::value(&budgets)->default_value(budgets), "comma-separated budgets (tokens or ratios)");
  add_common(desc, c);
  po::variables_map vm;
  if (!parse_options("sweep", "--dump D --out DIR [--policies all|LIST] [--budgets LIST] [options]", args,
                     desc, vm))
    return 0;
  c.window_given = !vm["window"].defaulted();
  SweepSpec spec;
  spec.policies = parse_policy_list(policies);
  spec.budgets = parse_budget_list(budgets);
  if (policies == "all") {
    // `all` skips policies that cannot run on this dump (laprox without o_proj), with a note.
    DumpReader reader(c.dump);
    if (!reader.has_o_proj()) {
      std::vector<PolicySpec> keep;
      for (auto& p : spec.policies) {
        if (make_policy(p)->needs_o_proj())
          std::cerr << "kvsim sweep: note: skipping " << p.name << " (the dump has no o_proj)\n";
        else
          keep.push_back(p);
      }
      spec.policies = keep;
    }
  }
  return run("sweep", args, c, spec);
}

int cmd_policies(const Args& args) {
  po::options_description desc("policies options");
  po::variables_map vm;
  if (!parse_options("policies", "", args, desc, vm)) return 0;
  for (const auto& p : policy_registry()) {
    std::cout << p.name << std::string(p.name.size() < 14 ? 14 - p.name.size() : 1, ' ')
              << p.description << "\n";
    for (const auto& d : p.params)
      std::cout << "    " << d.name << "=" << d.default_value << "  " << d.help << "\n";
  }
  std::cout << "\nusage: --policy NAME[:key=value,...]   e.g. --policy snapkv:window=32,kernel=7\n"
               "shared options: --block B (default 128, 0 = one-shot), --sinks S, --recent R, "
               "--seed, --gqa mean|max\n";
  return 0;
}

}  // namespace kvsim::cli
