#include "analysis/tidy_csv.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "io/errors.hpp"
#include "io/regular_file.hpp"

namespace kvsim::analysis {

namespace {

// Splits one CSV record starting at `pos`; advances `pos` past its line end.
// Quoted fields may contain commas, doubled quotes and newlines.
std::vector<std::string> parse_record(const std::string& text, std::size_t& pos) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          fields.back() += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

bool is_blank(const std::vector<std::string>& fields) {
  return fields.size() == 1 && fields[0].find_first_not_of(" \t") == std::string::npos;
}

}  // namespace

std::string csv_field(const std::string& field) {
  if (field.find_first_of(",\"\n\r") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return buf;
}

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& header)
    : file_(path), out_(file_.temp_path()), width_(header.size()) {
  if (!out_) throw InputError(path + ": cannot open for writing");
  row(header);
  rows_ = 0;
}

void CsvWriter::row(const std::vector<std::string>& fields) {
  if (fields.size() != width_)
    throw std::logic_error(file_.final_path() + ": row width differs from the header");
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out_ << ',';
    out_ << csv_field(fields[i]);
  }
  out_ << '\n';
  ++rows_;
}

void CsvWriter::commit() {
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok) throw InputError(file_.final_path() + ": write failed");
  file_.commit();
}

CsvTable CsvTable::read(const std::string& path, bool require_rows) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open CSV file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  CsvTable table;
  table.path_ = path;
  std::size_t pos = 0;
  while (pos < text.size() && table.header_.empty()) {
    auto fields = parse_record(text, pos);
    if (!is_blank(fields)) table.header_ = std::move(fields);
  }
  if (table.header_.empty()) throw InputError(path + ": empty CSV (no header line)");
  for (std::size_t i = 0; i < table.header_.size(); ++i) table.index_[table.header_[i]] = i;

  std::size_t line = 1;
  while (pos < text.size()) {
    auto fields = parse_record(text, pos);
    ++line;
    if (is_blank(fields)) continue;
    if (fields.size() != table.header_.size())
      throw InputError(path + ": line " + std::to_string(line) + " has " +
                       std::to_string(fields.size()) + " fields, the header has " +
                       std::to_string(table.header_.size()));
    table.cells_.push_back(std::move(fields));
    table.lines_.push_back(line);
  }
  if (require_rows && table.cells_.empty())
    throw InputError(path + ": empty CSV (header only, no data rows)");
  return table;
}

std::size_t CsvTable::column(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw InputError(path_ + ": missing column '" + name + "'");
  return it->second;
}

void CsvTable::require_columns(const std::vector<std::string>& names) const {
  for (const auto& n : names) column(n);
}

double CsvTable::number(std::size_t row, std::size_t col) const {
  const std::string& s = cells_[row][col];
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == s.c_str() || *end != '\0')
    throw InputError(path_ + ": data row " + std::to_string(row + 1) + ", column '" +
                     header_[col] + "': '" + s + "' is not a number");
  return v;
}

}  // namespace kvsim::analysis
