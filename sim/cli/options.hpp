#pragma once
// Shared Boost.Program_options plumbing for the subcommands.
#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

#include "sim/cli/commands.hpp"
#include "sim/engine/replay_options.hpp"

namespace kvsim::cli {

namespace po = boost::program_options;

// Parses `args` against `desc` (+ positional), turning every Boost parse error
// into a UsageError. Returns false when --help was given (usage already printed).
bool parse_options(const std::string& command, const std::string& synopsis, const Args& args,
                   po::options_description& desc, po::variables_map& vm,
                   const po::positional_options_description* positional = nullptr);

// A non-negative decimal integer option such as --seed. Program_options would
// read "-1" into an unsigned as 2^64 - 1 without a word; this refuses it.
std::uint64_t parse_unsigned_option(const std::string& option, const std::string& text);

// The replay options of replay, sweep and analyze --policy (DESIGN §2), each
// defined and parsed here once: --block, --sinks, --recent into ReplayOptions
// directly, --seed and --gqa as text first (ReplayOptionText), checked by
// parse_replay_options. (--window: sim/run/common_options.hpp; --block,
// --sinks and --recent are range-checked by the sweep.)
struct ReplayOptionText {
  std::string seed = "0";
  std::string gqa = "mean";
};
// Each help line starts with `help_prefix` ("--policy replay: " for analyze).
void add_replay_options(po::options_description& desc, ReplayOptions& options, ReplayOptionText& text,
                        const std::string& help_prefix = "");
// --seed and --gqa into `options`; UsageError naming the option.
void parse_replay_options(const ReplayOptionText& text, ReplayOptions& options);
// "mean" or "max"; UsageError otherwise.
GqaReduce parse_gqa_option(const std::string& text);

}  // namespace kvsim::cli

namespace kvsim::cli {

// What the command is working on, for the message when memory runs out: an
// allocation failure carries no context of its own, so each command names its
// input (and, where known, what one unit of its work needs) before the heavy
// part, and main's out-of-memory handler prints it.
void set_memory_context(const std::string& text);
const std::string& memory_context();

// "about 1.2 GiB" / "about 310 MiB"
std::string approximate_bytes(double bytes);

}  // namespace kvsim::cli
