#pragma once
// Minimal CSV plumbing shared by `kvsim analyze` (writing) and `kvsim plot`
// (reading): comma-separated, one header line, RFC-4180 quoting for fields
// holding a comma, quote or newline. Columns are always looked up by name so
// that column order and extra columns never matter to a reader.
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"

namespace kvsim::analysis {

// One field as written: quoted (with doubled quotes inside) when it holds a
// comma, quote, CR or LF, else as is. results.csv and every analysis CSV quote
// through this one function, so a dump label reads back the same from each.
std::string csv_field(const std::string& field);

// Number formatting used for every value we write: shortest round-trippable
// enough for doubles' 1e-9 relative (%.9g), "nan" for NaN.
std::string format_number(double value);

class CsvWriter {
 public:
  // Opens `path`'s temporary sibling and writes the header.
  CsvWriter(const std::string& path, const std::vector<std::string>& header);
  void row(const std::vector<std::string>& fields);  // must match the header width
  std::size_t rows() const { return rows_; }
  void commit();  // flush, close, rename into place (InputError on I/O failure)

 private:
  AtomicFile file_;
  std::ofstream out_;
  std::size_t width_;
  std::size_t rows_ = 0;
};

class CsvTable {
 public:
  // Reads the whole file. InputError "<path>: ..." when it cannot be opened,
  // has no header, or (require_rows) no data rows.
  static CsvTable read(const std::string& path, bool require_rows = true);

  const std::string& path() const { return path_; }
  std::size_t rows() const { return cells_.size(); }
  bool has_column(const std::string& name) const { return index_.count(name) > 0; }
  // Index of a column; InputError "<path>: missing column '<name>'" if absent.
  std::size_t column(const std::string& name) const;
  // Throws naming the first of `names` that is missing.
  void require_columns(const std::vector<std::string>& names) const;

  const std::string& text(std::size_t row, std::size_t col) const { return cells_[row][col]; }
  // The file's line number (1 = header) where data row `row` starts.
  std::size_t line(std::size_t row) const { return lines_[row]; }
  // Parsed number; InputError naming file, line and column when not numeric.
  double number(std::size_t row, std::size_t col) const;

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::map<std::string, std::size_t> index_;
  std::vector<std::vector<std::string>> cells_;
  std::vector<std::size_t> lines_;
};

}  // namespace kvsim::analysis
