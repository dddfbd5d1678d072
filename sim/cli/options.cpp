#include "sim/cli/options.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "io/errors.hpp"

namespace kvsim::cli {

bool parse_options(const std::string& command, const std::string& synopsis, const Args& args,
                   po::options_description& desc, po::variables_map& vm,
                   const po::positional_options_description* positional) {
  desc.add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(args);
    parser.options(desc);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: kvsim " << command << " " << synopsis << "\n\n" << desc << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see kvsim " + command + " --help)");
  }
  return true;
}

std::uint64_t parse_unsigned_option(const std::string& option, const std::string& text) {
  const bool digits = !text.empty() && text.size() <= 20 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    try {
      std::size_t used = 0;
      const unsigned long long v = std::stoull(text, &used, 10);
      if (used == text.size()) return v;
    } catch (const std::out_of_range&) {
    }
  }
  throw UsageError(option + " " + text + ": expected a non-negative integer (decimal digits, at most 2^64-1)");
}

void add_replay_options(po::options_description& desc, ReplayOptions& options, ReplayOptionText& text,
                        const std::string& help_prefix) {
  const auto help = [&](const char* words) { return help_prefix + words; };
  desc.add_options()
      ("block", po::value(&options.block)->default_value(options.block),
       help("block size B for block prompt processing (0 = one-shot)").c_str())
      ("sinks", po::value(&options.sinks)->default_value(options.sinks), help("protect the first S tokens").c_str())
      ("recent", po::value(&options.recent)->default_value(options.recent), help("protect the last R processed tokens").c_str())
      ("seed", po::value(&text.seed)->default_value(text.seed),
       help("seed (random policy), a non-negative integer").c_str())
      ("gqa", po::value(&text.gqa)->default_value(text.gqa),
       help("reduce per-query-head scores to the KV head: mean or max").c_str());
}

void parse_replay_options(const ReplayOptionText& text, ReplayOptions& options) {
  options.gqa = parse_gqa_option(text.gqa);
  options.seed = parse_unsigned_option("--seed", text.seed);
}

GqaReduce parse_gqa_option(const std::string& text) {
  if (text == "mean") return GqaReduce::mean;
  if (text == "max") return GqaReduce::max;
  throw UsageError("--gqa must be mean or max, got '" + text + "'");
}

}  // namespace kvsim::cli

namespace kvsim::cli {

namespace {
std::string& memory_context_text() {
  static std::string text;
  return text;
}
}  // namespace

void set_memory_context(const std::string& text) { memory_context_text() = text; }
const std::string& memory_context() { return memory_context_text(); }

std::string approximate_bytes(double bytes) {
  char buf[64];
  if (bytes >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "about %.1f GiB", bytes / (1024.0 * 1024 * 1024));
  else std::snprintf(buf, sizeof buf, "about %.0f MiB", bytes / (1024.0 * 1024));
  return buf;
}

}  // namespace kvsim::cli
