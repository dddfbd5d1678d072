#include "sim/run/journal.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "io/atomic_file.hpp"
#include "io/errors.hpp"

namespace kvsim {
namespace fs = std::filesystem;

namespace {
constexpr const char* kProgress = "progress.json";
constexpr const char* kUnitPrefix = "unit-";

bool is_unit_file(const fs::path& p) {
  const std::string n = p.filename().string();
  return n.rfind(kUnitPrefix, 0) == 0 && p.extension() == ".txt";
}

std::string shorten(const std::string& s) { return s.size() > 160 ? s.substr(0, 157) + "..." : s; }

// The first top-level key whose value differs, described for the user.
std::string first_difference(const nlohmann::json& was, const nlohmann::json& now) {
  for (const auto& [key, value] : now.items()) {
    if (!was.contains(key)) return "'" + key + "' is new";
    if (was[key] != value)
      return "'" + key + "' differs (journal: " + shorten(was[key].dump()) + ", now: " + shorten(value.dump()) + ")";
  }
  for (const auto& [key, value] : was.items())
    if (!now.contains(key)) return "'" + key + "' is missing";
  return "";
}
}  // namespace

SweepJournal::SweepJournal(const std::string& out_dir, nlohmann::json fingerprint, bool resume)
    : dir_((fs::path(out_dir) / "partial").string()), fingerprint_(std::move(fingerprint)) {
  read_test_hooks();
  if (!fs::exists(dir_)) return;
  // Leftover temporary files of a process killed mid-write are never units.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path(), ec);
  const long units = units_on_disk();
  const std::string progress = (fs::path(dir_) / kProgress).string();
  if (!resume) {
    if (units > 0)
      throw UsageError("--out " + out_dir + " holds " + std::to_string(units) +
                       " finished units of an interrupted run (" + dir_ +
                       "); rerun with --resume to continue it, or delete " + dir_ + " to start over");
    fs::remove_all(dir_, ec);
    return;
  }
  nlohmann::json was;
  try {
    std::ifstream in(progress);
    was = nlohmann::json::parse(in).at("fingerprint");
  } catch (const std::exception&) {
    throw InputError(progress + ": unreadable resume journal; delete " + dir_ + " to start over");
  }
  const std::string diff = first_difference(was, fingerprint_);
  if (!diff.empty())
    throw UsageError("--resume: " + dir_ + " was written by a different run: " + diff +
                     "; rerun with the original arguments, or delete " + dir_ + " to start over");
  started_ = true;
}

SweepJournal::SweepJournal(const std::string& out_dir, nlohmann::json fingerprint, Join)
    : dir_((fs::path(out_dir) / "partial").string()), fingerprint_(std::move(fingerprint)) {
  read_test_hooks();
}

void SweepJournal::read_test_hooks() {
  if (const char* env = std::getenv(kFailAfterEnv)) fail_after_ = std::atol(env);
  if (const char* env = std::getenv(kDelayEnv)) delay_ms_ = std::atol(env);
}

std::string SweepJournal::unit_path(int dump, int item, int layer) const {
  return (fs::path(dir_) / (std::string(kUnitPrefix) + "d" + std::to_string(dump) + "-" + std::to_string(item) +
                            "-layer" + std::to_string(layer) + ".txt"))
      .string();
}

long SweepJournal::units_on_disk() const {
  long n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) n += is_unit_file(e.path());
  return n;
}

// Unit file: "skip,<kv head>,<reason>" and "row,<head>,<metric id>,<value %a>"
// lines, then "end" (a file without it is not trusted).
bool SweepJournal::load(int dump, int item, int layer, UnitRecord& out) const {
  // Without started_: under MPI, another rank may have started the journal;
  // any unit file here was written by this run (a fresh run refuses or
  // clears an earlier journal when it starts).
  const std::string path = unit_path(dump, item, layer);
  std::ifstream in(path);
  if (!in) return false;
  out = UnitRecord{};
  std::string line;
  // The header names the unit: a file copied or renamed onto another unit's
  // name must not pass for it.
  int header_dump = -1, header_item = -1, header_layer = -1;
  char tail = 0;
  if (!std::getline(in, line) ||
      std::sscanf(line.c_str(), "# kvsim resume journal: dump %d, item %d, layer %d%c", &header_dump, &header_item,
                  &header_layer, &tail) != 3)
    throw InputError(path + ": damaged resume journal entry; delete it (that unit is recomputed) and rerun with --resume");
  if (header_dump != dump || header_item != item || header_layer != layer)
    throw InputError(path + ": resume journal entry holds dump " + std::to_string(header_dump) + ", item " +
                     std::to_string(header_item) + ", layer " + std::to_string(header_layer) +
                     ", not the unit its name says (dump " + std::to_string(dump) + ", item " + std::to_string(item) +
                     ", layer " + std::to_string(layer) + "); delete it (that unit is recomputed) and rerun with --resume");
  bool complete = false;
  while (std::getline(in, line)) {
    if (line == "end") {
      complete = true;
      break;
    }
    if (line.rfind("row,", 0) == 0) {
      MetricRow r{item, layer, 0, 0, 0.0};
      char* p = nullptr;
      r.head = static_cast<int>(std::strtol(line.c_str() + 4, &p, 10));
      if (*p == ',') r.metric = static_cast<int>(std::strtol(p + 1, &p, 10));
      if (*p == ',') r.value = std::strtod(p + 1, &p);
      if (*p != '\0') break;
      out.rows.push_back(r);
    } else if (line.rfind("skip,", 0) == 0) {
      char* p = nullptr;
      const int kv = static_cast<int>(std::strtol(line.c_str() + 5, &p, 10));
      if (*p != ',') break;
      out.skipped.push_back({layer, kv, std::string(p + 1)});
    } else if (line.empty() || line[0] != '#') {
      break;
    }
  }
  if (!complete)
    throw InputError(path + ": damaged resume journal entry; delete it (that unit is recomputed) and rerun with --resume");
  return true;
}

void SweepJournal::save(int dump, int item, int layer, const UnitRecord& unit) {
  if (!started_) {
    fs::create_directories(dir_);
    nlohmann::json j = {{"fingerprint", fingerprint_},
                        {"note", "resume journal of an unfinished kvsim run; kvsim removes it when "
                                 "the run completes (rerun with --resume)"}};
    write_file_atomically((fs::path(dir_) / kProgress).string(), j.dump(2) + "\n");
    started_ = true;
  }
  std::ostringstream os;
  os << "# kvsim resume journal: dump " << dump << ", item " << item << ", layer " << layer << "\n";
  for (const auto& s : unit.skipped) os << "skip," << s.kv_head << "," << s.reason << "\n";
  char buf[64];
  for (const auto& r : unit.rows) {
    std::snprintf(buf, sizeof buf, "%a", r.value);  // exact: resumed rows print like fresh ones
    os << "row," << r.head << "," << r.metric << "," << buf << "\n";
  }
  os << "end\n";
  write_file_atomically(unit_path(dump, item, layer), os.str());
  ++saved_;
  if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
  if (fail_after_ >= 0 && saved_ >= fail_after_)
    throw std::runtime_error(std::string(kFailAfterEnv) + ": simulated failure after " +
                             std::to_string(saved_) + " units");
}

void SweepJournal::remove() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  started_ = false;
}

}  // namespace kvsim
