#include "io/output_dir.hpp"

#include <filesystem>

#include "io/errors.hpp"

namespace kvsim {

void create_output_directory(const std::string& dir, const std::string& option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec))
    throw InputError(option + " " + dir + ": cannot create the output directory: " +
                     (ec ? ec.message() : "a file of that name exists"));
}

}  // namespace kvsim
