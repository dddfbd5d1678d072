// kvsim replay / kvsim sweep: replay a dump's context through eviction policies
// and measure recall/error on the future queries (DESIGN §2-§4, §6).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/atomic_file.hpp"
#include "policies/kernels/gemm_tally.hpp"
#include "io/dump_corpus.hpp"
#include "io/dump_label.hpp"
#include "io/errors.hpp"
#include "io/kept_sets_file.hpp"
#include "io/kvdump.hpp"
#include "sim/cli/options.hpp"
#include "io/layer_geometry.hpp"
#include "io/output_dir.hpp"
#include "sim/run/common_options.hpp"
#include "sim/run/interrupt.hpp"
#include "sim/run/journal.hpp"
#include "sim/run/mpi_world.hpp"
#include "sim/run/work_division.hpp"
#include "sim/run/output_lock.hpp"
#include "sim/run/progress.hpp"
#include "sim/run/run_report.hpp"
#include "analysis/bootstrap.hpp"
#include "analysis/corpus_aggregate.hpp"
#include "analysis/metric_table.hpp"
#include "sim/engine/results_table.hpp"
#include "sim/engine/sweep.hpp"
#include "sim/run/warnings.hpp"

namespace kvsim::cli {
namespace {

struct CommonOptions {
  std::vector<std::string> dumps;
  std::string dump_list, out, layers;
  ReplayOptions opt;
  ReplayOptionText opt_text;  // --seed, --gqa as given
  int threads = 0;
  bool quiet = false, resume = false, allow_nonfinite = false, save_kept = false;
  bool window_given = false;  // --window on the command line, not the default
};

void add_common(po::options_description& desc, CommonOptions& c) {
  desc.add_options()
      ("dump,d", po::value(&c.dumps)->composing(), "kvdump file (.h5); repeat it to replay a corpus")
      ("dump-list", po::value(&c.dump_list), "file with one dump path per line ('#' comments; relative paths "
                                             "are resolved against the list's folder)")
      ("out,o", po::value(&c.out)->required(), "output directory (results.csv, aggregate.csv, run.json)");
  add_replay_options(desc, c.opt, c.opt_text);
  add_window_option(desc, c.opt.window);
  desc.add_options()
      ("layers", po::value(&c.layers), "comma-separated layer subset (default: all)");
  add_threads_option(desc, c.threads);
  desc.add_options()
      ("quiet,q", po::bool_switch(&c.quiet), "no progress and no summary table")
      ("resume", po::bool_switch(&c.resume), "continue an interrupted run into the same --out from its journal (DIR/partial)")
      ("allow-nonfinite", po::bool_switch(&c.allow_nonfinite), "skip (layer, KV head) units with NaN/Inf in q/k/v/o_proj instead of failing")
      ("save-kept", po::bool_switch(&c.save_kept), "also write kept.h5: the final kept positions per (policy, budget, layer, KV head); "
       "a corpus: kept/<d>.h5 per dump (d from 0, in corpus order)");
}

// Unit files store metric ids (positions in the metric table): a journal written
// by a build with another metric list would resume with wrong labels.
nlohmann::json journal_metric_names() {
  nlohmann::json names = nlohmann::json::array();
  for (int id = 0; id < kNumMetricIds; ++id) names.push_back(metric_name(id));
  return names;
}

nlohmann::json dump_identity(const std::string& path, const DumpReader& reader) {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path, ec);
  return {{"path", std::filesystem::absolute(path).string()},
          {"size_bytes", reader.file_size()},
          {"mtime", ec ? 0 : static_cast<long long>(mtime.time_since_epoch().count())},
          {"attrs", dump_attrs_json(reader.attrs())}};
}

// What identifies a run for --resume: the dumps (path, size, mtime, attributes,
// in order) and every argument that changes results, and the metric list; not
// --threads/--quiet/--out, nor the MPI world size (units are the same on any
// rank), nor --allow-nonfinite (units without NaN/Inf are the same either way,
// and units with them are never journaled without it: a run that stopped on a
// NaN can be resumed with --allow-nonfinite).
nlohmann::json fingerprint(const std::string& command, const CommonOptions& c, const SweepSpec& spec,
                           const nlohmann::json& dump_identities) {
  nlohmann::json pols = nlohmann::json::array();
  for (const auto& p : spec.policies) pols.push_back({{"label", p.label()}, {"params", p.params.values}});
  nlohmann::json buds = nlohmann::json::array();
  for (const auto& b : spec.budgets) buds.push_back(b.text);
  return {{"command", command},
          {"dumps", dump_identities},
          {"policies", pols},
          {"budgets", buds},
          {"options", {{"block", c.opt.block}, {"sinks", c.opt.sinks}, {"recent", c.opt.recent},
                       {"window", c.opt.window}, {"seed", c.opt.seed}, {"gqa", c.opt_text.gqa}}},
          {"layers", spec.layers},
          {"metrics", journal_metric_names()}};
}

// --- the steps of a replay/sweep run, in order ------------------------------

// Checks the shared options and puts them into the spec, before any dump is opened.
void apply_options(CommonOptions& c, SweepSpec& spec, const std::vector<CorpusEntry>& corpus) {
  parse_replay_options(c.opt_text, c.opt);
  check_window_option(c.opt.window);
  apply_threads_option(c.threads);
  spec.options = c.opt;
  if (!c.layers.empty()) spec.layers = parse_layer_list(c.layers);
  spec.allow_nonfinite = c.allow_nonfinite;
  if (c.save_kept && c.resume)
    throw UsageError("--save-kept cannot be combined with --resume: the kept sets of the units the interrupted "
                     "run finished are not journaled; rerun without --resume");
  if (c.save_kept && MpiWorld::size() > 1)
    throw UsageError("--save-kept runs as one process: kept sets are not gathered from other MPI ranks");
  spec.keep_sets = c.save_kept;
}

// What running out of memory would mean here: one layer's tensors (q, k, v,
// o_proj) and the future queries' attention (DESIGN §4).
void name_memory_need(const CommonOptions& c, const std::string& path, const DumpReader& reader) {
  const LayerGeom g = LayerGeom::from(reader.attrs(), resolve_context_len(reader.attrs(), c.opt.window));
  const double floats = double(g.H) * g.T * g.d + 2.0 * g.G * g.T * g.d + double(g.D) * g.H * g.d +
                        double(g.H) * g.W() * g.T;
  set_memory_context(path + ": replaying one layer needs " + approximate_bytes(4 * floats));
}

// A warning about one dump of a corpus names it; a lone dump's wording is unchanged.
void add_dump_warnings(WarningLog& to, const WarningLog& from, const std::vector<CorpusEntry>& corpus, int d) {
  for (Warning w : from.all()) {
    if (corpus.size() > 1) w.message = corpus[d].label + ": " + w.message;
    to.add(std::move(w));
  }
}

// The exit status of a run that a signal stopped; its journal stays for --resume.
int report_interruption(const std::string& command, long units_total, const SweepJournal& journal) {
  const int sig = interrupt_signal();
  std::cerr << "kvsim " << command << ": interrupted (" << (sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "on another rank")
            << "): " << journal.units_on_disk() << " of " << units_total << " units kept in "
            << journal.dir() << "; rerun with --resume to continue\n";
  return 128 + (sig ? sig : SIGTERM);
}

// Where --save-kept writes dump d's kept sets: kept.h5 for a lone dump; for a
// corpus, one file per dump, kept/<d>.h5 (d = the dump's place in the corpus,
// as analyze's per_dump/<d>/; no label reaches a path), each written as soon
// as its dump is swept so a corpus never holds more than one dump's sets.
std::string kept_file_name(int d, int n_dumps) {
  return n_dumps == 1 ? "kept.h5" : "kept/" + std::to_string(d) + ".h5";
}

std::string kept_file_path(const CommonOptions& c, int d, int n_dumps) {
  return (std::filesystem::path(c.out) / kept_file_name(d, n_dumps)).string();
}

// kept.h5 (io/kept_sets_file.hpp). A KV head dropped by --allow-nonfinite
// keeps nothing there; the others keep their original index.
void write_kept_file(const std::string& path, const std::string& label, const SweepResult& res) {
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
  write_kept_sets_file(path, label, res.geom.C, res.geom.G, items);
}

nlohmann::json policies_json(const SweepSpec& spec) {
  nlohmann::json pols = nlohmann::json::array();
  for (const auto& p : spec.policies)
    pols.push_back({{"label", p.label()}, {"name", p.name}, {"params", p.params.values}});
  return pols;
}

nlohmann::json budgets_json(const SweepSpec& spec, const SweepResult* lone) {
  nlohmann::json buds = nlohmann::json::array();
  for (std::size_t b = 0; b < spec.budgets.size(); ++b) {
    nlohmann::json j = {{"text", spec.budgets[b].text},
                        {"kind", spec.budgets[b].ratio ? "ratio" : "tokens"},
                        {"value", spec.budgets[b].value}};
    if (lone) j["tokens"] = lone->budget_tokens[b];  // a corpus: per dump, under "dumps"
    buds.push_back(j);
  }
  return buds;
}

// Where the time went, summed over the dumps (and, under MPI, over the ranks).
struct StepTimes {
  double read = 0, future = 0, prepass = 0, future_flops = 0, read_io = 0, read_checks = 0, read_bytes = 0;
  std::vector<double> select, metrics, gemm_flops, gemm_seconds;  // [item]
  long computed = 0;                                              // units this process computed
  void add(const SweepResult& res) {
    computed += res.units_computed;
    read += res.read_seconds;
    read_io += res.read_io_seconds;
    read_checks += res.read_check_seconds;
    read_bytes += static_cast<double>(res.read_bytes);
    future += res.future_seconds;
    future_flops += res.future_flops;
    prepass += res.prepass_seconds;
    const std::size_t n = res.items.size();
    for (auto* v : {&select, &metrics, &gemm_flops, &gemm_seconds}) v->resize(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      select[i] += res.select_seconds[i];
      metrics[i] += res.metric_seconds[i];
      gemm_flops[i] += res.select_gemm_flops[i];
      gemm_seconds[i] += res.select_gemm_thread_seconds[i];
    }
  }
  std::vector<double> flat() const {
    std::vector<double> v = {read, future, prepass, future_flops, read_io, read_checks, read_bytes};
    for (const auto* part : {&select, &metrics, &gemm_flops, &gemm_seconds}) v.insert(v.end(), part->begin(), part->end());
    return v;
  }
  // The sum over ranks of gathered flat() vectors.
  void add_flat(const std::vector<double>& all, std::size_t n_items) {
    constexpr std::size_t kScalars = 7;
    const std::size_t w = kScalars + 4 * n_items;
    for (auto* v : {&select, &metrics, &gemm_flops, &gemm_seconds}) v->resize(n_items, 0.0);
    for (std::size_t at = 0; at + w <= all.size(); at += w) {
      read += all[at];
      future += all[at + 1];
      prepass += all[at + 2];
      future_flops += all[at + 3];
      read_io += all[at + 4];
      read_checks += all[at + 5];
      read_bytes += all[at + 6];
      for (std::size_t i = 0; i < n_items; ++i) {
        select[i] += all[at + kScalars + i];
        metrics[i] += all[at + kScalars + n_items + i];
        gemm_flops[i] += all[at + kScalars + 2 * n_items + i];
        gemm_seconds[i] += all[at + kScalars + 3 * n_items + i];
      }
    }
  }
  // Seconds per stage; per item the selection's GEMM work and its rate per
  // thread, against `sgemm_per_thread` (the same run's yardstick).
  nlohmann::json to_json(const std::vector<SweepItem>& items, double sgemm_per_thread) const {
    nlohmann::json per = nlohmann::json::object();
    for (std::size_t i = 0; i < items.size() && i < select.size(); ++i) {
      nlohmann::json j = {{"select", select[i]}, {"metrics", metrics[i]}};
      if (gemm_flops[i] > 0 && gemm_seconds[i] > 0) {
        const double rate = gemm_flops[i] / gemm_seconds[i] * 1e-9;
        j["select_gemm_gflop"] = gemm_flops[i] * 1e-9;
        j["select_gemm_thread_seconds"] = gemm_seconds[i];
        j["select_gemm_gflops_per_thread"] = rate;
        if (sgemm_per_thread > 0) j["select_gemm_vs_sgemm"] = rate / sgemm_per_thread;
      }
      per[items[i].policy_label + "@" + std::to_string(items[i].budget_tokens)] = j;
    }
    nlohmann::json out = {{"read", read}, {"future_attention", future}, {"model_wide_prepass", prepass}, {"items", per}};
    out["future_attention_gflop"] = future_flops * 1e-9;
    if (future > 0 && future_flops > 0) {
      // Wall-clock rate with every thread at work, against every thread's sgemm.
      out["future_attention_gflops"] = future_flops / future * 1e-9;
      if (sgemm_per_thread > 0)
        out["future_attention_vs_sgemm"] = future_flops / future * 1e-9 / (sgemm_per_thread * omp_get_max_threads());
    }
    // The read stage's roofline: bytes as stored, and the two halves of its time.
    out["read_bytes"] = read_bytes;
    out["read_io"] = read_io;
    out["read_checks"] = read_checks;
    if (read_io > 0) out["read_io_gb_per_s"] = read_bytes / read_io * 1e-9;
    out["sgemm_gflops_per_thread"] = sgemm_per_thread;
    return out;
  }
};

// The outcome of the sweep over every dump, as rank 0 writes it.
struct CorpusOutcome {
  // results.csv, streamed one dump at a time (header first, dumps in order)
  // under a temporary name; committed by write_outputs.
  std::unique_ptr<AtomicTextWriter> results;
  analysis::CorpusAggregate aggregate;
  std::vector<analysis::AggregateItem> aggregate_items;
  nlohmann::json dumps = nlohmann::json::array();  // run.json "dumps"
  nlohmann::json skipped = nlohmann::json::array();
  WarningLog warnings;
  StepTimes times;
  long rows = 0, units_total = 0, units_resumed = 0, units_computed = 0;
  double aggregate_seconds = 0;  // aggregate.csv's bootstrap, after the sweep
  std::vector<SweepResult> lone;  // the one dump's result (a lone dump: run.json keeps its single-dump keys)
};

// Everything a run needs to know about its corpus before any compute.
struct CorpusInfo {
  std::vector<CorpusEntry> entries;
  nlohmann::json identities = nlohmann::json::array();
  std::vector<LayerGeom> geoms;      // [dump] with the resolved context
  std::vector<std::vector<int>> layers;  // [dump] selected layers
  bool all_have_o_proj = true;
};

CorpusInfo describe_corpus(const CommonOptions& c, const SweepSpec& spec, std::vector<CorpusEntry> entries) {
  CorpusInfo info;
  info.entries = std::move(entries);
  for (const auto& e : info.entries) {
    const DumpReader reader(e.path);
    info.identities.push_back(dump_identity(e.path, reader));
    info.geoms.push_back(LayerGeom::from(reader.attrs(), resolve_context_len(reader.attrs(), c.opt.window)));
    info.layers.push_back(select_layers(spec.layers, reader.attrs().n_layers));
    info.all_have_o_proj &= reader.has_o_proj();
  }
  return info;
}

// MPI: which rank computes which (dump, layer) unit (sim/run/work_division.hpp).
struct RankPlan {
  std::vector<WorkUnit> units;
  WorkDivision division;
  std::vector<std::set<int>> my_layers;  // [dump] layers this rank computes
  bool model_wide = false;
};

RankPlan plan_ranks(const CorpusInfo& info, const SweepSpec& spec) {
  RankPlan rp;
  for (const auto& p : spec.policies) rp.model_wide |= make_policy(p)->pooling() == Pooling::model;
  for (std::size_t d = 0; d < info.entries.size(); ++d) {
    const LayerGeom& g = info.geoms[d];
    const double per_layer = double(g.H) * g.d * double(g.T) * g.T;
    if (rp.model_wide)
      rp.units.push_back({int(d), -1, per_layer * double(info.layers[d].size())});
    else
      for (int l : info.layers[d]) rp.units.push_back({int(d), l, per_layer});
  }
  rp.division = divide_work(rp.units, MpiWorld::size());
  rp.my_layers.resize(info.entries.size());
  for (std::size_t u = 0; u < rp.units.size(); ++u) {
    if (rp.division.owner[u] != MpiWorld::rank()) continue;
    const WorkUnit& w = rp.units[u];
    if (w.layer >= 0)
      rp.my_layers[w.dump].insert(w.layer);
    else
      rp.my_layers[w.dump].insert(info.layers[w.dump].begin(), info.layers[w.dump].end());
  }
  return rp;
}

// One pass over the corpus: each dump's sweep, its units journaled as they
// finish. `computes` (MPI) limits this process to its own units; `outcome`
// (rank 0's final pass) collects the rows and the run's report.
bool sweep_corpus(const std::string& command, const CommonOptions& c, const CorpusInfo& info, SweepSpec spec,
                  SweepJournal& journal, const RankPlan* ranks, CorpusOutcome* outcome, StepTimes& times) {
  const int n = static_cast<int>(info.entries.size());
  for (int d = 0; d < n; ++d) {
    const CorpusEntry& e = info.entries[d];
    if (ranks && ranks->my_layers[d].empty()) continue;
    DumpReader reader(e.path);
    name_memory_need(c, e.path, reader);
    std::unique_ptr<Progress> progress;
    if (!c.quiet && MpiWorld::rank() == 0 && !(outcome && ranks))
      spec.progress = [&](long done, long total) {
        if (!progress)
          progress = std::make_unique<Progress>(
              command + (n > 1 ? " dump " + std::to_string(d + 1) + "/" + std::to_string(n) : "") + " layer passes",
              total, 2.0);
        progress->update(done);
      };
    DumpJournal units(journal, d);
    spec.store = &units;
    if (ranks) {
      const std::set<int>* mine = &ranks->my_layers[d];
      spec.computes_layer = [mine](int layer) { return mine->count(layer) > 0; };
    }
    SweepResult res;
    try {
      res = run_sweep(DumpLayerSource(reader), spec);
    } catch (...) {
      progress.reset();
      if (const long kept = journal.units_on_disk())
        std::cerr << "kvsim " << command << ": note: " << kept << " finished units are kept in " << journal.dir()
                  << "; rerun with --resume to continue\n";
      throw;
    }
    progress.reset();
    times.add(res);
    if (res.stopped) return false;
    if (!outcome) continue;
    if (!res.complete) throw std::logic_error("sweep of " + e.path + " is missing units at assembly");
    CorpusOutcome& o = *outcome;
    if (o.aggregate_items.empty())
      for (const auto& it : res.items)
        o.aggregate_items.push_back({it.policy_label, spec.budgets[it.budget].text, it.block});
    if (!o.results) {
      o.results = std::make_unique<AtomicTextWriter>((std::filesystem::path(c.out) / "results.csv").string());
      o.results->append(std::string(kResultsHeader) + "\n");
    }
    o.results->append(results_csv_rows(res, e.label));
    o.rows += static_cast<long>(res.rows.size());
    add_to_aggregate(res, o.aggregate);
    WarningLog dump_warnings;
    if (c.window_given) warn_if_window_ignored(dump_warnings, c.opt.window, reader.attrs());
    dump_warnings.add_all(res.warnings);
    add_dump_warnings(o.warnings, dump_warnings, info.entries, d);
    for (const auto& s : res.skipped) {
      nlohmann::json j = {{"layer", s.layer}, {"kv_head", s.kv_head}, {"reason", s.reason}};
      if (n > 1) j["dump"] = e.label;
      o.skipped.push_back(j);
    }
    nlohmann::json tokens = nlohmann::json::array();
    for (int t : res.budget_tokens) tokens.push_back(t);
    nlohmann::json dj = replayed_dump_json(reader);
    dj["label"] = e.label;
    dj["context_len"] = res.geom.C;
    dj["future_queries"] = res.geom.W();
    dj["budget_tokens"] = tokens;
    dj["layers"] = res.layers;
    o.dumps.push_back(dj);
    o.units_total += res.units_total;
    o.units_resumed += res.units_resumed;
    o.units_computed += res.units_computed;
    if (c.save_kept && n > 1) {
      if (d == 0) create_output_directory((std::filesystem::path(c.out) / "kept").string(), "--out");
      write_kept_file(kept_file_path(c, d, n), e.label, res);
    }
    if (n == 1) o.lone.push_back(std::move(res));
  }
  return true;
}

void write_run_json(const std::string& command, const Args& args, const CommonOptions& c, const SweepSpec& spec,
                    const CorpusOutcome& o, const nlohmann::json& mpi, double wall) {
  const SweepResult* lone = o.lone.empty() ? nullptr : &o.lone.front();
  RunReport report;
  report.provenance().command(command).set("arguments", args);
  if (lone) {
    report.dump(o.dumps[0].contains("path") ? nlohmann::json{{"path", o.dumps[0]["path"]},
                                                            {"size_bytes", o.dumps[0]["size_bytes"]},
                                                            {"attrs", o.dumps[0]["attrs"]},
                                                            {"has_o_proj", o.dumps[0]["has_o_proj"]}}
                                          : nlohmann::json());
    report.set("context_len", lone->geom.C).set("future_queries", lone->geom.W());
  }
  report.set("dumps", o.dumps)
      .set("policies", policies_json(spec))
      .set("budgets", budgets_json(spec, lone))
      .set("options", {{"block", c.opt.block}, {"sinks", c.opt.sinks}, {"recent", c.opt.recent},
                       {"window", c.opt.window}, {"seed", c.opt.seed}, {"gqa", c.opt_text.gqa},
                       {"threads", omp_get_max_threads()}});
  if (lone) report.set("layers", lone->layers);
  nlohmann::json outputs = {"results.csv", "aggregate.csv", "run.json"};
  if (c.save_kept)
    for (std::size_t d = 0; d < o.dumps.size(); ++d)
      outputs.push_back(kept_file_name(int(d), int(o.dumps.size())));
  report.set("seed", c.opt.seed)
      .timings(wall, [&] {
        // the yardstick of the stages' GEMM rates, measured in this run
        nlohmann::json t = o.times.to_json(lone ? lone->items : std::vector<SweepItem>{}, sgemm_gflops_per_thread());
        t["aggregate"] = o.aggregate_seconds;
        return t;
      }())
      .set("units", {{"total", o.units_total}, {"resumed", o.units_resumed}, {"computed", o.units_computed}})
      .set("mpi", mpi)
      .set("allow_nonfinite", c.allow_nonfinite)
      .set("skipped_units", o.skipped)
      .set("aggregate", {{"bootstrap_resamples", analysis::kBootstrapResamples},
                         {"interval_level", analysis::kIntervalLevel},
                         {"seed", c.opt.seed},
                         {"n_dumps", o.dumps.size()}})
      .warnings(o.warnings)
      .set("outputs", outputs)
      .write((std::filesystem::path(c.out) / "run.json").string());
}

void print_summary(const std::string& command, const CommonOptions& c, const CorpusOutcome& o, double wall) {
  if (o.units_resumed > 0)
    std::cerr << "kvsim " << command << ": resumed " << o.units_resumed << " of " << o.units_total
              << " units from the journal, computed " << o.units_computed << "\n";
  if (!c.quiet && !o.lone.empty()) std::cout << summary_table(o.lone.front());
  std::cout << "wrote " << (std::filesystem::path(c.out) / "results.csv").string() << " (" << o.rows << " rows";
  if (o.dumps.size() > 1) std::cout << " from " << o.dumps.size() << " dumps";
  std::cout << "), aggregate.csv and run.json in " << std::fixed;
  std::cout.precision(1);
  std::cout << wall << " s\n";
}

// run.json "mpi": the world, the assignment and how balanced the ranks were.
nlohmann::json mpi_json(const RankPlan* ranks, const std::vector<double>& busy) {
  nlohmann::json j = {{"world_size", MpiWorld::size()}};
  if (!ranks) return j;
  nlohmann::json per = nlohmann::json::array();
  double total_cost = 0, max_busy = 0, sum_busy = 0;
  for (double l : ranks->division.predicted_load) total_cost += l;
  for (int r = 0; r < MpiWorld::size(); ++r) {
    per.push_back({{"rank", r},
                   {"units", ranks->division.units_per_rank[r]},
                   {"predicted_share", total_cost > 0 ? ranks->division.predicted_load[r] / total_cost : 0.0},
                   {"busy_seconds", busy.at(r)}});
    max_busy = std::max(max_busy, busy[r]);
    sum_busy += busy[r];
  }
  j["unit"] = ranks->model_wide ? "dump (model-wide pooling needs every layer)" : "(dump, layer)";
  j["assignment"] = "longest first to the least-loaded rank; predicted cost H*d*T^2 per layer";
  j["units"] = ranks->units.size();
  j["ranks"] = per;
  // 1 = perfectly balanced; the slowest rank sets the wall time.
  j["efficiency"] = max_busy > 0 ? sum_busy / (max_busy * MpiWorld::size()) : 1.0;
  return j;
}

void write_outputs(const std::string& command, const Args& args, const CommonOptions& c, const SweepSpec& spec,
                   CorpusOutcome& o, const nlohmann::json& mpi, double wall) {
  const std::filesystem::path out(c.out);
  o.results->commit();
  std::vector<std::string> metric_names;
  for (int id = 0; id < kNumMetricIds; ++id) metric_names.push_back(metric_name(id));
  const auto t0 = std::chrono::steady_clock::now();
  const std::string aggregate = o.aggregate.csv(o.aggregate_items, metric_names, c.opt.seed);
  o.aggregate_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomically((out / "aggregate.csv").string(), aggregate);
  if (c.save_kept && o.dumps.size() == 1)
    write_kept_file(kept_file_path(c, 0, 1), o.dumps[0]["label"].get<std::string>(), o.lone.front());
  write_run_json(command, args, c, spec, o, mpi, wall + o.aggregate_seconds);
}

int finish_run(const std::string& command, const Args& args, const CommonOptions& c, const SweepSpec& spec,
               CorpusOutcome& outcome, const nlohmann::json& mpi, SweepJournal& journal,
               std::chrono::steady_clock::time_point t0) {
  outcome.warnings.print(std::cerr, command);
  for (const auto& s : outcome.skipped)
    std::cerr << "kvsim " << command << ": note: skipped "
              << (s.contains("dump") ? s["dump"].get<std::string>() + " " : "") << "layer " << s["layer"].get<int>()
              << " KV head " << s["kv_head"].get<int>() << " (--allow-nonfinite): " << s["reason"].get<std::string>()
              << "\n";
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_outputs(command, args, c, spec, outcome, mpi, wall);
  journal.remove();  // results.csv, aggregate.csv and run.json are complete
  print_summary(command, c, outcome, wall);
  return 0;
}

int run(const std::string& command, const Args& args, CommonOptions& c, SweepSpec spec,
        std::vector<CorpusEntry> corpus) {
  apply_options(c, spec, corpus);
  const auto t0 = std::chrono::steady_clock::now();
  const CorpusInfo info = describe_corpus(c, spec, std::move(corpus));
  const bool leader = MpiWorld::rank() == 0;
  const bool distributed = MpiWorld::size() > 1;
  // Up front, before any compute: the output directory is created, writable
  // and ours alone for the whole run (every rank of an MPI run writes its
  // units into its journal, which rank 0 checked before they start).
  std::unique_ptr<OutputDirLock> lock;
  std::unique_ptr<SweepJournal> journal;
  if (leader) {
    lock = std::make_unique<OutputDirLock>(c.out, "--out");
    journal = std::make_unique<SweepJournal>(c.out, fingerprint(command, c, spec, info.identities), c.resume);
  }
  MpiWorld::barrier();
  if (!leader)
    journal = std::make_unique<SweepJournal>(c.out, fingerprint(command, c, spec, info.identities), SweepJournal::Join{});
  const InterruptGuard interrupts;  // until the outputs are written: a signal only stops the sweep
  spec.stop_requested = interrupt_requested;

  CorpusOutcome outcome;
  StepTimes times;
  const long units_total = [&] {
    long n = 0;
    for (const auto& l : info.layers) n += long(l.size()) * long(spec.policies.size() * spec.budgets.size());
    return n;
  }();
  if (!distributed) {
    if (!sweep_corpus(command, c, info, spec, *journal, nullptr, &outcome, times))
      return report_interruption(command, units_total, *journal);
    outcome.times = times;
    return finish_run(command, args, c, spec, outcome, mpi_json(nullptr, {}), *journal, t0);
  }
  const RankPlan ranks = plan_ranks(info, spec);
  const auto busy_from = std::chrono::steady_clock::now();
  const bool stopped = !sweep_corpus(command, c, info, spec, *journal, &ranks, nullptr, times);
  const double busy = std::chrono::duration<double>(std::chrono::steady_clock::now() - busy_from).count();
  const std::vector<double> all_busy = MpiWorld::gather({busy});
  const std::vector<double> all_times = MpiWorld::gather(times.flat());
  const std::vector<double> all_computed = MpiWorld::gather({double(times.computed)});
  if (MpiWorld::max(stopped ? 1 : 0)) return leader ? report_interruption(command, units_total, *journal) : 0;
  if (!leader) return 0;
  // Rank 0 assembles every dump from the journal: the rows each rank
  // computed, in the canonical order, byte-identical to a lone run.
  StepTimes assembly;
  if (!sweep_corpus(command, c, info, spec, *journal, nullptr, &outcome, assembly))
    return report_interruption(command, units_total, *journal);
  outcome.times.add_flat(all_times, outcome.aggregate_items.size());
  long computed = 0;
  for (double v : all_computed) computed += static_cast<long>(v);
  outcome.units_computed = computed;
  outcome.units_resumed = outcome.units_total - computed;
  return finish_run(command, args, c, spec, outcome, mpi_json(&ranks, all_busy), *journal, t0);
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
  if (!parse_options("replay", "--dump D [--dump D2 ...|--dump-list F] --policy P --budget B --out DIR [options]",
                     args, desc, vm))
    return 0;
  c.window_given = !vm["window"].defaulted();
  SweepSpec spec;
  spec.policies.push_back(parse_policy_spec(policy));
  spec.budgets.push_back(BudgetSpec::parse(budget));
  return run("replay", args, c, spec, make_corpus(c.dumps, c.dump_list));
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
  if (!parse_options("sweep", "--dump D [--dump D2 ...|--dump-list F] --out DIR [--policies all|LIST] "
                              "[--budgets LIST] [options]", args, desc, vm))
    return 0;
  c.window_given = !vm["window"].defaulted();
  SweepSpec spec;
  spec.policies = parse_policy_list(policies);
  spec.budgets = parse_budget_list(budgets);
  std::vector<CorpusEntry> corpus = make_corpus(c.dumps, c.dump_list);
  // `all` (alone or as an item: "all,chunkkv") skips policies that cannot run
  // on every dump (laprox, criticalkv without o_proj), with a note: the rows
  // of a corpus must be the same policies for every dump.
  std::string items = "," + policies + ",";
  std::replace(items.begin(), items.end(), ';', ',');
  const bool lists_all = items.find(",all,") != std::string::npos;
  if (lists_all) {
    bool all_have_o_proj = true;
    for (const auto& e : corpus) all_have_o_proj &= DumpReader(e.path).has_o_proj();
    if (!all_have_o_proj) {
      std::vector<PolicySpec> keep;
      for (auto& p : spec.policies) {
        if (make_policy(p)->needs_o_proj())
          std::cerr << "kvsim sweep: note: skipping " << p.label()
                    << (corpus.size() > 1 ? " (a dump of the corpus has no o_proj)\n" : " (the dump has no o_proj)\n");
        else
          keep.push_back(p);
      }
      spec.policies = keep;
    }
  }
  return run("sweep", args, c, spec, std::move(corpus));
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
