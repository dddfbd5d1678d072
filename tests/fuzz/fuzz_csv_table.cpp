// libFuzzer harness for the CSV reader behind `kvsim plot` (results.csv and
// the analysis CSVs are user files): any bytes must read or fail with
// kvsim::InputError, and every cell must be readable as text or as a number
// (or fail with InputError naming the cell).
#include <cstdint>

#include "analysis/tidy_csv.hpp"
#include "io/errors.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = kvsim::fuzz::write_input(data, size, ".csv");
  try {
    const auto table = kvsim::analysis::CsvTable::read(path, false);
    for (std::size_t row = 0; row < table.rows(); ++row)
      for (const char* name : {"dump", "policy", "budget", "layer", "head", "metric", "value"}) {
        if (!table.has_column(name)) continue;
        const std::size_t col = table.column(name);
        (void)table.text(row, col);
        try {
          (void)table.number(row, col);
        } catch (const kvsim::InputError&) {
        }
      }
  } catch (const kvsim::InputError&) {
  }
  return 0;
}
