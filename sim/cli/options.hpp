#pragma once
// Shared Boost.Program_options plumbing for the subcommands.
#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

#include "sim/cli/commands.hpp"

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
