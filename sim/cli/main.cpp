// kvsim: offline KV-cache eviction simulator. Dispatches to one subcommand.
#include <H5Epublic.h>
#include <H5public.h>

#include <csignal>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <new>
#include <string>

#include <boost/program_options/errors.hpp>
#include <nlohmann/json.hpp>

#include "io/crash_guard.hpp"
#include "io/layer_memory.hpp"
#include "sim/run/mpi_world.hpp"
#include "sim/run/version.hpp"
#include "io/errors.hpp"
#include "io/json_error.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/options.hpp"
#include "sim/run/interrupt.hpp"

namespace {


using Fn = int (*)(const kvsim::cli::Args&);

const std::map<std::string, std::pair<Fn, const char*>>& command_table() {
  using namespace kvsim::cli;
  static const std::map<std::string, std::pair<Fn, const char*>> table = {
      {"inspect", {cmd_inspect, "print a dump's attributes, datasets and (--stats) sanity statistics"}},
      {"synth", {cmd_synth, "write a seeded synthetic dump with realistic attention structure"}},
      {"replay", {cmd_replay, "replay a dump through one eviction policy at one budget; results.csv + run.json"}},
      {"sweep", {cmd_sweep, "policies x budgets in one pass over the dump; results.csv + run.json"}},
      {"policies", {cmd_policies, "list the eviction policies, their parameters and defaults"}},
      {"bench", {cmd_bench, "time the engine on a synthetic Llama-3.1-8B-shaped layer"}},
      {"analyze", {cmd_analyze, "PCA key diversity and distinctiveness-vs-attention correlation of a dump; tidy CSVs"}},
      {"plot", {cmd_plot, "draw figures (PNG + SVG) from results.csv, analyze or evaluate CSVs: recall, layer-error, heatmap, pca, diversity, validity"}},
      {"capture", {cmd_capture, "run a real Llama-family checkpoint on CPU and record a kvdump v1 file"}},
      {"tokenize", {cmd_tokenize, "text -> token ids (or --decode ids -> text) with a tokenizer.json, as capture does"}},
      {"evaluate", {cmd_evaluate, "run a checkpoint with each policy's compressed cache: next-token KL vs the offline metrics"}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: kvsim <subcommand> [options]\n\nsubcommands:\n";
  for (const auto& [name, entry] : command_table()) {
    out << "  " << name << std::string(name.size() < 10 ? 10 - name.size() : 1, ' ')
        << entry.second << "\n";
  }
  out << "\n`kvsim <subcommand> --help` shows a subcommand's options.\n"
      << "exit codes: 0 success; 1 bad input or failure (one stderr line names the file, dataset or option);\n"
      << "            2 bad usage; 130 interrupted by SIGINT, 143 by SIGTERM (unfinished output removed;\n"
      << "            replay/sweep keep finished units for --resume)\n";
}

}  // namespace

template <class Command>
int run_command(const std::string& sub, const Command& command, const kvsim::cli::Args& args) {
  try {
    return command(args);
  } catch (const kvsim::UsageError& e) {
    // Every rank checks the same arguments: rank 0 alone says what is wrong.
    if (kvsim::MpiWorld::rank() == 0)
      std::cerr << "kvsim " << sub << ": usage error: " << kvsim::one_line(e.what()) << "\n";
    return 2;
  } catch (const kvsim::InputError& e) {
    std::cerr << "kvsim " << sub << ": error: " << kvsim::one_line(e.what()) << "\n";
    return 1;
  } catch (const kvsim::Interrupted& e) {
    std::cerr << "kvsim " << sub << ": " << kvsim::one_line(e.what()) << "; the unfinished output was removed\n";
    return 128 + e.signal;
  }
  // Library exceptions are wrapped where the file and field are known; these
  // handlers are the safety net, and never print a library's raw message.
  catch (const std::bad_alloc&) {
    const std::string& context = kvsim::cli::memory_context();
    std::cerr << "kvsim " << sub << ": error: " << (context.empty() ? "" : kvsim::one_line(context) + ": ")
              << "out of memory: the input needs more memory than is available (see README \"Large dumps\")\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "kvsim " << sub << ": error: " << kvsim::one_line(e.path1().string()) << ": " << e.code().message() << "\n";
    return 1;
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "kvsim " << sub << ": error: malformed JSON input: " << kvsim::one_line(kvsim::json_error_detail(e)) << "\n";
    return 1;
  } catch (const boost::program_options::error& e) {
    if (kvsim::MpiWorld::rank() == 0)
      std::cerr << "kvsim " << sub << ": usage error: " << kvsim::one_line(e.what()) << " (see kvsim " << sub << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "kvsim " << sub << ": error: internal error (" << kvsim::one_line(e.what())
              << "); please report it with the command line\n";
    return 1;
  }
}

int main(int argc, char** argv) {
  // A file whose write failed (full disk) cannot be closed cleanly, and
  // libhdf5 1.10's exit-time cleanup crashes on it; every file kvsim writes is
  // closed explicitly or abandoned (its temporary file removed), so skip it.
  H5dont_atexit();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // HDF5 errors become our own messages
  kvsim::install_crash_handler();
  // Under a file-size limit (ulimit -f) the kernel would kill the process
  // mid-write, leaving its temporary file; ignored, the write fails with EFBIG
  // and ends like a full disk: one line, exit 1, temporary file removed.
  std::signal(SIGXFSZ, SIG_IGN);
  kvsim::keep_freed_layers_in_heap();
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (sub == "--version") {
    std::cout << "kvsim " << kvsim::kvsim_version() << " (" << kvsim::kvsim_git_revision() << ")\n";
    return 0;
  }
  const auto& table = command_table();
  auto it = table.find(sub);
  if (it == table.end()) {
    std::cerr << "kvsim: unknown subcommand '" << kvsim::one_line(sub) << "'\n";
    print_usage(std::cerr);
    return 2;
  }
  kvsim::MpiWorld::start(&argc, &argv);
  kvsim::cli::Args args(argv + 2, argv + argc);
  int code = 2;
  if (kvsim::MpiWorld::size() > 1 && sub != "sweep" && sub != "replay") {
    if (kvsim::MpiWorld::rank() == 0)
      std::cerr << "kvsim " << sub << ": usage error: only sweep and replay run over several MPI ranks; run kvsim "
                << sub << " as one process\n";
  } else {
    code = run_command(sub, it->second.first, args);
  }
  // A failed rank ends every rank (the others may wait for it); the journal
  // keeps what any rank finished, for --resume.
  if (code != 0 && kvsim::MpiWorld::size() > 1) kvsim::MpiWorld::abort(code);
  kvsim::MpiWorld::finish();
  return code;
}
