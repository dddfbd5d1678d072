#pragma once
// Plumbing shared by the literate analysis programs in notebooks_cpp/ (one
// executable per *.cpp; this header is deliberately header-only so that the
// CMake glob does not turn it into a program of its own).
//
// A notebook is a main() that calls Notebook::run with its body. The class
// owns what every notebook needs and none should re-implement:
//   - the command line: --dump (default: the bundled real dump), --out
//     (default out/notebooks/<name>), --threads, --help, plus the notebook's
//     own options added through options();
//   - the opened dump, a one-line description of it for reports and titles;
//   - the output directory, atomic writes of report.md / summary.json / CSVs;
//   - a replay sweep with progress on stderr;
//   - the mapping of errors to exit codes (2 bad usage, 1 bad input), as kvsim does.
// The Markdown builder and the sweep-result aggregations below are the other
// shared pieces: the reports of all three notebooks look alike and read the
// engine's results the same way.
#include <H5Epublic.h>
#include <omp.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/analyze_dump.hpp"
#include "analysis/bootstrap.hpp"
#include "analysis/plot/gnuplot_figure.hpp"
#include "io/atomic_file.hpp"
#include "io/dump_corpus.hpp"
#include "io/dump_label.hpp"
#include "io/errors.hpp"
#include "io/kvdump.hpp"
#include "io/layer_geometry.hpp"
#include "sim/run/common_options.hpp"
#include "sim/run/progress.hpp"
#include "sim/run/run_report.hpp"
#include "sim/engine/results_table.hpp"
#include "sim/engine/sweep.hpp"

#ifndef KVSIM_SOURCE_DIR
#error "notebooks need KVSIM_SOURCE_DIR (set by CMakeLists.txt) to find the bundled dump"
#endif

namespace kvsim::notebook {

namespace po = boost::program_options;
namespace fs = std::filesystem;

// The real dump shipped with the repository (TinyStories-656K, docs/CAPTURE.md).
inline std::string bundled_dump_path() {
  return (fs::path(KVSIM_SOURCE_DIR) / "data" / "tinystories656k-kite.h5").string();
}

// The budget grid of the replay notebooks: 1%–50% of the context, dense at
// the small end where policies differ most.
inline constexpr const char* kDefaultBudgets = "0.01,0.02,0.05,0.1,0.2,0.3,0.5";

// Output file names every notebook writes.
inline constexpr const char* kReportFile = "report.md";
inline constexpr const char* kSummaryFile = "summary.json";

// ---------------------------------------------------------------- formatting

// Fixed-point text with `digits` decimals ("-0.000" printed as "0.000").
inline std::string fixed(double value, int digits = 3) {
  if (std::isnan(value)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);
  return s;
}

// A budget ratio as a percentage label: 0.05 -> "5%", 0.015 -> "1.5%".
inline std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", ratio * 100);
  return buf;
}

// "a, b and c"
inline std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? "" : i + 1 == words.size() ? " and " : ", ") + words[i];
  return out;
}

// ---------------------------------------------------------------- report.md

// A small Markdown builder: the reports are read on GitHub and in terminals,
// so they use only headings, paragraphs, bullets, pipe tables and images.
class MarkdownReport {
 public:
  explicit MarkdownReport(const std::string& title) { text_ << "# " << title << "\n\n"; }

  MarkdownReport& section(const std::string& heading) {
    text_ << "## " << heading << "\n\n";
    return *this;
  }
  MarkdownReport& paragraph(const std::string& text) {
    text_ << text << "\n\n";
    return *this;
  }
  MarkdownReport& bullets(const std::vector<std::string>& items) {
    for (const auto& item : items) text_ << "- " << item << "\n";
    text_ << "\n";
    return *this;
  }
  MarkdownReport& table(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
    auto line = [&](const std::vector<std::string>& cells) {
      text_ << "|";
      for (const auto& c : cells) text_ << " " << c << " |";
      text_ << "\n";
    };
    line(header);
    text_ << "|";
    for (std::size_t i = 0; i < header.size(); ++i) text_ << (i == 0 ? "---|" : "---:|");
    text_ << "\n";
    for (const auto& r : rows) line(r);
    text_ << "\n";
    return *this;
  }
  // The PNG is linked relative to the report, which sits beside it.
  MarkdownReport& figure(const std::string& caption, const plot::PlotFiles& files) {
    text_ << "![" << caption << "](" << fs::path(files.png).filename().string() << ")\n\n*"
          << caption << "* (vector: `" << fs::path(files.svg).filename().string() << "`)\n\n";
    return *this;
  }
  std::string str() const { return text_.str(); }

 private:
  std::ostringstream text_;
};

// ---------------------------------------------------------------- sweep results

// One number per sweep item (policy × budget), laid out as a policy × budget
// grid in the order the sweep spec listed them.
struct PolicyBudgetGrid {
  std::vector<std::string> policies;  // labels, spec order
  std::vector<std::string> budget_names;  // as requested: "1%" for a ratio, "64 tokens"
  std::vector<int> budget_tokens;     // N per KV head
  std::vector<double> budget_ratios;  // realised N / C (below the requested ratio by < 1/C)
  std::vector<std::vector<double>> value;  // [policy][budget]

  int policy_index(const std::string& label) const {
    const auto it = std::find(policies.begin(), policies.end(), label);
    if (it == policies.end()) throw InputError("no policy '" + label + "' in the sweep");
    return int(it - policies.begin());
  }
  double at(const std::string& policy, std::size_t budget) const {
    return value[policy_index(policy)][budget];
  }
};

// Mean of `metric` over the rows of each item: over every (layer, query head)
// for per-head metrics, over layers for layer-level ones (head -1, e.g. M5).
// This is the average a results.csv reader gets from the same rows.
// `budgets` are the sweep's budgets as requested (SweepSpec::budgets).
inline PolicyBudgetGrid mean_by_policy_and_budget(const SweepResult& result,
                                                  const std::vector<BudgetSpec>& budgets, int metric) {
  const bool layer_level = metric >= kNumHeadMetrics && metric < kFirstSummary;
  PolicyBudgetGrid grid;
  int n_policies = 0, n_budgets = 0;
  for (const auto& item : result.items) {
    n_policies = std::max(n_policies, item.policy + 1);
    n_budgets = std::max(n_budgets, item.budget + 1);
  }
  grid.policies.resize(n_policies);
  if (budgets.size() != std::size_t(n_budgets))
    throw std::logic_error("mean_by_policy_and_budget: budgets do not match the sweep");
  for (const auto& b : budgets)
    grid.budget_names.push_back(b.ratio ? percent(b.value) : b.text + " tokens");
  grid.budget_tokens.resize(n_budgets);
  grid.budget_ratios.resize(n_budgets);
  grid.value.assign(n_policies, std::vector<double>(n_budgets, NAN));
  std::vector<double> sum(result.items.size(), 0);
  std::vector<long> count(result.items.size(), 0);
  for (const auto& row : result.rows)
    if (row.metric == metric && (row.head < 0) == layer_level) {
      sum[row.item] += row.value;
      ++count[row.item];
    }
  for (std::size_t i = 0; i < result.items.size(); ++i) {
    const auto& item = result.items[i];
    grid.policies[item.policy] = item.policy_label;
    grid.budget_tokens[item.budget] = item.budget_tokens;
    grid.budget_ratios[item.budget] = item.budget_ratio;
    if (count[i] > 0) grid.value[item.policy][item.budget] = sum[i] / count[i];
  }
  return grid;
}

// The sweep item of a policy label and budget index (InputError when absent).
inline std::size_t item_index(const SweepResult& result, const std::string& policy, int budget) {
  for (std::size_t i = 0; i < result.items.size(); ++i)
    if (result.items[i].policy_label == policy && result.items[i].budget == budget) return i;
  throw InputError("no sweep item for policy '" + policy + "' at budget index " +
                   std::to_string(budget));
}

// "1% (N=2)" for tables: the requested budget and the tokens per KV head it gave.
inline std::string budget_label(const PolicyBudgetGrid& grid, std::size_t b) {
  return grid.budget_names[b] + " (N=" + std::to_string(grid.budget_tokens[b]) + ")";
}

// ---------------------------------------------------------------- the notebook

class Notebook {
 public:
  // `name` is the program's name without the nb_ prefix (output folder name);
  // `question` is the one-line --help description.
  Notebook(std::string name, std::string question)
      : name_(std::move(name)), question_(std::move(question)), options_("options") {
    options_.add_options()
        ("dump,d", po::value(&dump_paths_)->composing(),
         "kvdump file (.h5); repeat it (or use --dump-list) to run on a corpus; default: the bundled dump")
        ("dump-list", po::value(&dump_list_),
         "file with one dump path per line (# comments; relative paths from the list's folder)")
        ("out,o", po::value(&out_dir_)->default_value("out/notebooks/" + name_),
         "output directory (figures, CSVs, report.md, summary.json)");
    add_window_option(options_, window_);
    add_threads_option(options_, threads_);
    options_.add_options()("help,h", "show this help");
  }

  // Add the notebook's own options before run().
  po::options_description& options() { return options_; }

  // Top-level summary.json keys whose numbers mean different things in
  // different dumps (per-head lists, per-layer allocations: a head's index
  // names another head in another model), left out of a corpus's summary.
  void exclude_from_corpus(std::vector<std::string> keys) {
    corpus_excluded_.insert(corpus_excluded_.end(), keys.begin(), keys.end());
  }

  // Parses the command line, opens the dump and the output directory, runs
  // `body`, and turns errors into kvsim's exit codes.
  int run(int argc, char** argv, const std::function<void(Notebook&)>& body) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // HDF5 errors become our own messages
    const std::string program = "nb_" + name_;
    try {
      po::variables_map vm;
      try {
        po::store(po::parse_command_line(argc, argv, options_), vm);
        if (vm.count("help")) {
          std::cout << program << ": " << question_ << "\n\nusage: " << program
                    << " [options]\n\n" << options_ << "\n";
          return 0;
        }
        po::notify(vm);
      } catch (const po::error& e) {
        throw UsageError(std::string(e.what()) + " (see " + program + " --help)");
      }
      check_window_option(window_);
      apply_threads_option(threads_);
      window_given_ = !vm["window"].defaulted();
      const std::vector<CorpusEntry> corpus =
          make_corpus(dump_paths_.empty() && dump_list_.empty() ? std::vector<std::string>{bundled_dump_path()}
                                                                : dump_paths_,
                      dump_list_);
      if (corpus.size() == 1) {
        run_on(corpus[0], body);
      } else {
        // A corpus: the notebook's whole report for each dump in
        // OUT/per_dump/<d>/, then OUT/report.md and summary.json with every
        // key number's mean over dumps and its 95% bootstrap interval.
        const std::string root = out_dir_;
        std::vector<nlohmann::json> summaries;
        WarningLog all_warnings;
        for (std::size_t d = 0; d < corpus.size(); ++d) {
          out_dir_ = (fs::path(root) / "per_dump" / std::to_string(d)).string();
          log("dump " + std::to_string(d + 1) + " of " + std::to_string(corpus.size()));
          run_on(corpus[d], body);
          summaries.push_back(read_json(out_path(kSummaryFile)));
          for (Warning w : warnings_.all()) {
            w.message = corpus[d].label + ": " + w.message;
            all_warnings.add(std::move(w));
          }
        }
        out_dir_ = root;
        warnings_ = all_warnings;
        write_corpus_report(corpus, summaries);
      }
      log("done; report in " + out_path(kReportFile));
      return 0;
    } catch (const UsageError& e) {
      std::cerr << program << ": usage error: " << one_line(e.what()) << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << program << ": error: " << one_line(e.what()) << "\n";
      return 1;
    }
  }

  const std::string& name() const { return name_; }
  const DumpReader& dump() const { return *dump_; }
  const DumpAttrs& attrs() const { return dump_->attrs(); }
  int window() const { return window_; }
  int context_len() const { return context_len_; }
  int future_len() const { return attrs().n_tokens - context_len_; }
  // The `dump` column of the CSVs (io/dump_label.hpp).
  std::string dump_label() const { return dump_label_; }
  const std::string& out_dir() const { return out_dir_; }
  std::string out_path(const std::string& file) const { return (fs::path(out_dir_) / file).string(); }

  // "tinystories656k-kite.h5 (model X: 2 layers, 8 query heads / 4 KV heads,
  // d=16, 277 context + 43 future tokens)" — every report starts with it.
  std::string describe_dump() const {
    const DumpAttrs& a = attrs();
    std::ostringstream s;
    s << dump_label() << " (model " << a.model << ": " << a.n_layers << " layers, " << a.n_heads
      << " query heads / " << a.n_kv_heads << " KV heads, d=" << a.head_dim << ", "
      << context_len_ << " context + " << future_len() << " future tokens)";
    return s.str();
  }

  // Progress and notes go to stderr; stdout is kept for the short summary.
  void log(const std::string& message) const { std::cerr << "[nb_" << name_ << "] " << message << "\n"; }

  // run_sweep over this dump with per-layer progress on stderr (after 2 s).
  SweepResult sweep(SweepSpec spec) const {
    spec.options.window = window_;
    DumpLayerSource source(*dump_);
    std::unique_ptr<Progress> progress;
    spec.progress = [&](long done, long total) {
      if (!progress) progress = std::make_unique<Progress>("nb_" + name_ + " sweep", total, 2.0);
      progress->update(done);
    };
    log("replaying " + std::to_string(spec.policies.size()) + " policies x " +
        std::to_string(spec.budgets.size()) + " budgets");
    SweepResult result = run_sweep(source, spec);
    progress.reset();
    // A caveat of the engine (e.g. snapkv at a budget within its window is
    // "most recent N") must reach every place the notebook's numbers go.
    for (const Warning& w : result.warnings.all())
      if (warnings_.add(w)) log("warning: " + one_line(w.message));
    return result;
  }

  // The policies of `list` ("all" or "a,b:k=v,...") that can run on this
  // dump: one that needs o_proj is skipped with a note when the dump has none,
  // as `kvsim sweep --policies all` does.
  std::vector<PolicySpec> runnable_policies(const std::string& list) const {
    std::vector<PolicySpec> runnable;
    for (auto& p : parse_policy_list(list)) {
      if (!dump_->has_o_proj() && make_policy(p)->needs_o_proj())
        log("note: skipping " + p.label() + " (the dump has no o_proj)");
      else
        runnable.push_back(std::move(p));
    }
    return runnable;
  }

  // Writes results.csv (the engine's tidy format, so `kvsim plot` can redraw
  // every figure) and returns its path.
  std::string write_results(const SweepResult& result) const {
    const std::string path = out_path("results.csv");
    write_file_atomically(path, results_csv(result, dump_label()));
    // The plots take the model name for their titles from a run.json beside results.csv.
    RunReport()
        .provenance()
        .command("nb_" + name_)
        .dump({{"path", fs::absolute(dump_path_).string()}, {"model", attrs().model}})
        .warnings(warnings_)
        .write(out_path("run.json"));
    return path;
  }

  // analyze.json beside the CSVs of an analysis (as `kvsim analyze` writes it).
  void write_analysis_record(const analysis::AnalyzeOutcome& outcome) const {
    RunReport().provenance().merge(outcome.record).warnings(warnings_).write(out_path(analysis::kAnalyzeMetaFile));
  }

  void write_report(const MarkdownReport& report) const {
    std::string text = report.str();
    if (!warnings_.empty()) {
      text += "\n## Warnings\n\nThe engine flagged these caveats; numbers above that they concern mean what "
              "these lines say.\n\n";
      for (const Warning& w : warnings_.all()) text += "- " + w.message + "\n";
    }
    write_file_atomically(out_path(kReportFile), text);
  }

  // summary.json: the report's key numbers, machine-readable (tests read it).
  // The dump block is added here so that every notebook records it the same way.
  void write_summary(const nlohmann::json& summary) const {
    const DumpAttrs& a = attrs();
    RunReport()
        .merge(summary)
        .set("notebook", name_)
        .dump({{"path", dump_path_},      {"label", dump_label()},
               {"model", a.model},        {"n_layers", a.n_layers},
               {"n_heads", a.n_heads},    {"n_kv_heads", a.n_kv_heads},
               {"head_dim", a.head_dim},  {"context_len", context_len_},
               {"future_len", future_len()}})
        .warnings(warnings_)
        .write(out_path(kSummaryFile));
  }

 private:
  // Opens one dump and its output folder and runs the notebook's body on it.
  void run_on(const CorpusEntry& entry, const std::function<void(Notebook&)>& body) {
    dump_path_ = entry.path;
    dump_label_ = entry.label;
    warnings_ = WarningLog();
    dump_ = std::make_unique<DumpReader>(dump_path_);
    context_len_ = resolve_context_len(dump_->attrs(), window_);
    if (window_given_) {
      warn_if_window_ignored(warnings_, window_, attrs());
      for (const Warning& w : warnings_.all()) log("warning: " + one_line(w.message));
    }
    std::error_code ec;
    fs::create_directories(out_dir_, ec);
    if (ec || !fs::is_directory(out_dir_))
      throw InputError("--out " + out_dir_ + ": cannot create directory" + (ec ? ": " + ec.message() : ""));
    log("dump " + describe_dump());
    body(*this);
  }

  static nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    try {
      return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path + ": cannot read back the notebook's summary: " + e.what());
    }
  }

  // Every number of a summary under its path ("m1_by_budget/h2o/3"); texts
  // and booleans (verdicts, best policies) as text. The dump block, the
  // warnings and the provenance describe the run, not a result.
  // Texts longer than kMaxLabel (verdict sentences with numbers in them,
  // paths) differ in every dump: each dump's report has them.
  static constexpr std::size_t kMaxLabel = 40;
  void flatten(const nlohmann::json& j, const std::string& path, std::map<std::string, double>& numbers,
               std::map<std::string, std::string>& texts) const {
    if (j.is_object()) {
      for (const auto& [key, value] : j.items()) {
        if (path.empty() && (key == "dump" || key == "warnings" || key == "notebook" || key == "figures" ||
                             std::count(corpus_excluded_.begin(), corpus_excluded_.end(), key)))
          continue;
        flatten(value, path.empty() ? key : path + "/" + key, numbers, texts);
      }
    } else if (j.is_array()) {
      for (std::size_t i = 0; i < j.size(); ++i) flatten(j[i], path + "/" + std::to_string(i), numbers, texts);
    } else if (j.is_number()) {
      numbers[path] = j.get<double>();
    } else if (j.is_boolean()) {
      texts[path] = j.get<bool>() ? "true" : "false";
    } else if (j.is_string() && j.get<std::string>().size() <= kMaxLabel) {
      texts[path] = j.get<std::string>();
    }
  }

  void write_corpus_report(const std::vector<CorpusEntry>& corpus, const std::vector<nlohmann::json>& summaries) {
    std::map<std::string, std::vector<double>> numbers;              // path -> per dump (finite values)
    std::map<std::string, std::map<std::string, int>> texts;         // path -> value -> dumps
    std::vector<std::string> order;                                   // paths as the first dump lists them
    for (const auto& summary : summaries) {
      std::map<std::string, double> n;
      std::map<std::string, std::string> t;
      flatten(summary, "", n, t);
      for (const auto& [path, v] : n) {
        if (!numbers.count(path) && !texts.count(path)) order.push_back(path);
        if (std::isfinite(v)) numbers[path].push_back(v);
        else numbers[path];
      }
      for (const auto& [path, v] : t) {
        if (!numbers.count(path) && !texts.count(path)) order.push_back(path);
        ++texts[path][v];
      }
    }
    const int n_dumps = int(corpus.size());
    MarkdownReport report("nb_" + name_ + " on a corpus of n = " + std::to_string(n_dumps) + " dumps");
    const bool ends = !question_.empty() && (question_.back() == '?' || question_.back() == '.');
    report.paragraph("Question: " + question_ + (ends ? "" : ".") + " Each dump's full report is in `per_dump/<d>/report.md`; below, every number "
                     "of their summary.json as the mean over dumps with a 95% percentile-bootstrap interval (" +
                     std::to_string(analysis::kBootstrapResamples) +
                     " resamples of the dumps, fixed seed), and every verdict as a count of dumps. A number "
                     "some dumps lack (a policy skipped, a layer a shallower model lacks) is averaged over the "
                     "dumps that have it: see its n.");
    std::vector<std::vector<std::string>> dump_rows;
    nlohmann::json dumps_json = nlohmann::json::array();
    for (int d = 0; d < n_dumps; ++d) {
      const nlohmann::json& dj = summaries[d]["dump"];
      dump_rows.push_back({std::to_string(d), "`" + corpus[d].label + "`", dj.value("model", ""),
                           std::to_string(dj.value("context_len", 0)), "per_dump/" + std::to_string(d) + "/report.md"});
      dumps_json.push_back({{"label", corpus[d].label}, {"path", corpus[d].path},
                            {"report", "per_dump/" + std::to_string(d)}, {"model", dj.value("model", "")}});
    }
    report.section("Dumps").table({"d", "dump", "model", "context", "report"}, dump_rows);
    std::vector<std::vector<std::string>> number_rows, text_rows;
    nlohmann::json numbers_json = nlohmann::json::object(), texts_json = nlohmann::json::object();
    std::uint64_t stream = 0;
    for (const auto& path : order) {
      if (numbers.count(path)) {
        const auto& v = numbers[path];
        const analysis::MeanWithInterval m = analysis::bootstrap_mean(v, 0x6E62'0000ULL + ++stream);
        const double lo = v.empty() ? NAN : *std::min_element(v.begin(), v.end());
        const double hi = v.empty() ? NAN : *std::max_element(v.begin(), v.end());
        number_rows.push_back({"`" + path + "`", std::to_string(m.n), fixed(m.mean, 4),
                               m.n > 1 ? "[" + fixed(m.ci_lo, 4) + ", " + fixed(m.ci_hi, 4) + "]" : "–",
                               fixed(lo, 4), fixed(hi, 4)});
        auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
        numbers_json[path] = {{"n", m.n}, {"mean", num(m.mean)}, {"sd", num(m.sd)}, {"ci_lo", num(m.ci_lo)},
                              {"ci_hi", num(m.ci_hi)}, {"min", num(lo)}, {"max", num(hi)}};
      } else {
        std::string tally;
        for (const auto& [value, count] : texts[path])
          tally += (tally.empty() ? "" : "; ") + value + ": " + std::to_string(count);
        text_rows.push_back({"`" + path + "`", tally});
        texts_json[path] = texts[path];
      }
    }
    if (!text_rows.empty())
      report.section("Verdicts and labels over dumps (value: number of dumps)").table({"quantity", "dumps"}, text_rows);
    report.section("Numbers over dumps").table({"quantity", "n", "mean", "95% interval", "min", "max"}, number_rows);
    write_report(report);
    RunReport()
        .set("notebook", name_)
        .set("corpus", {{"n_dumps", n_dumps}, {"dumps", dumps_json}})
        .set("bootstrap_resamples", analysis::kBootstrapResamples)
        .set("interval_level", analysis::kIntervalLevel)
        .set("numbers", numbers_json)
        .set("texts", texts_json)
        .warnings(warnings_)
        .write(out_path(kSummaryFile));
  }

  std::string name_, question_;
  po::options_description options_;
  std::vector<std::string> dump_paths_, corpus_excluded_;
  std::string dump_list_, dump_path_, dump_label_, out_dir_;
  bool window_given_ = false;
  int window_ = 128, threads_ = 0;
  std::unique_ptr<DumpReader> dump_;
  int context_len_ = 0;
  mutable WarningLog warnings_;  // from every sweep, in order; see sweep()
};

// The options of the replay notebooks (recall_curves, laprox_vs_headwise).
struct ReplayKnobs {
  std::string budgets = kDefaultBudgets;
  int block = 128;
  void add_to(po::options_description& options) {
    options.add_options()
        ("budgets,b", po::value(&budgets)->default_value(budgets),
         "comma-separated budgets: ratios of the context (0.1) or tokens per KV head (64)")
        ("block", po::value(&block)->default_value(block),
         "block size B of block prompt processing (0 = one-shot)");
  }
};

// The SweepSpec shared by the replay notebooks: budgets parsed from text,
// block prompt processing with block size `block`.
inline SweepSpec make_sweep_spec(std::vector<PolicySpec> policies, const std::string& budgets,
                                 int block, bool keep_sets = false) {
  SweepSpec spec;
  spec.policies = std::move(policies);
  spec.budgets = parse_budget_list(budgets);
  spec.options.block = block;
  spec.keep_sets = keep_sets;
  return spec;
}

}  // namespace kvsim::notebook
