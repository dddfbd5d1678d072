#include "sim/cli/options.hpp"

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

}  // namespace kvsim::cli
