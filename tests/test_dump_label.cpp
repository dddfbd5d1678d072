// Rows from several dumps are told apart by their `dump` column, so every
// writer must label (and quote) a dump the same way: results.csv from the
// engine and the CSVs of `kvsim analyze` (io/dump_label.hpp,
// analysis::csv_field).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/tidy_csv.hpp"
#include "support.hpp"

namespace kvsim::test {
namespace {

std::string first_data_line(const std::string& path) {
  const std::string text = read_text(path);
  const std::size_t start = text.find('\n') + 1;
  return text.substr(start, text.find('\n', start) - start);
}

// Writes a dump named `label`, sweeps and analyses it, and checks that every
// CSV starts its first row with `quoted` and reads the label back.
void expect_same_label_everywhere(const std::string& label, const std::string& quoted) {
  ScratchDir dir;
  const std::string dump = dir.file(label);
  std::filesystem::rename(synth_small_dump(dir, "--seed 3"), dump);
  const std::string shell_dump = "'" + dump + "'";
  auto sweep = run_kvsim("sweep --dump " + shell_dump + " --policies knorm --budgets 8 --quiet --out " +
                         dir.file("sweep"));
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
  auto analyze = run_kvsim("analyze --dump " + shell_dump + " --pca --correlation --out " + dir.file("an"));
  ASSERT_EQ(analyze.exit_code, 0) << analyze.err;

  const std::string results = dir.file("sweep") + "/results.csv";
  EXPECT_EQ(first_data_line(results).rfind(quoted, 0), 0u) << first_data_line(results);
  const auto table = analysis::CsvTable::read(results);
  EXPECT_EQ(table.text(0, table.column("dump")), label);
  for (const char* name : {"pca.csv", "pca_spectrum.csv", "pca_points.csv", "correlation.csv",
                           "correlation_bins.csv"}) {
    const std::string path = dir.file("an") + "/" + name;
    EXPECT_EQ(first_data_line(path).rfind(quoted, 0), 0u) << name << ": " << first_data_line(path);
    const auto csv = analysis::CsvTable::read(path);
    EXPECT_EQ(csv.text(0, csv.column("dump")), label) << name;
  }
  const auto meta = nlohmann::json::parse(read_text(dir.file("an") + "/analyze.json"));
  EXPECT_EQ(meta["dump"]["label"], label);
}

TEST(DumpLabel, IsTheSameInResultsCsvAndAnalysisCsvsWhenItNeedsQuoting) {
  expect_same_label_everywhere("a,\"b.h5", "\"a,\"\"b.h5\",");  // a comma and a quote
  // A carriage return: results.csv once wrote it bare, and a reader drops a bare CR.
  expect_same_label_everywhere("a\rb.h5", "\"a\rb.h5\",");
}

}  // namespace
}  // namespace kvsim::test
