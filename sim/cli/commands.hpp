#pragma once
// Every subcommand is one function in its own sim/cli/cmd_<name>.cpp taking the
// arguments after the subcommand name. Conventions (DESIGN §7):
//  - `--help` prints usage on stdout and returns 0;
//  - bad options throw kvsim::UsageError (exit 2), bad input throws
//    kvsim::InputError (exit 1); main() prints one "kvsim <sub>: ..." line.
//  - machine-readable results go to stdout, progress and diagnostics to stderr.
#include <string>
#include <vector>

namespace kvsim::cli {

using Args = std::vector<std::string>;

int cmd_inspect(const Args& args);
int cmd_synth(const Args& args);
int cmd_capture(const Args& args);
int cmd_replay(const Args& args);
int cmd_sweep(const Args& args);
int cmd_policies(const Args& args);
int cmd_analyze(const Args& args);
int cmd_plot(const Args& args);
int cmd_bench(const Args& args);
int cmd_evaluate(const Args& args);
int cmd_tokenize(const Args& args);

}  // namespace kvsim::cli
