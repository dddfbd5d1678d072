#include "io/dump_corpus.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "io/dump_label.hpp"
#include "io/errors.hpp"

namespace kvsim {
namespace fs = std::filesystem;

namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

fs::path normalised(const std::string& path) { return fs::absolute(fs::path(path)).lexically_normal(); }

// The last k components of p, joined with '/'.
std::string tail(const fs::path& p, std::size_t k) {
  std::vector<std::string> parts;
  for (const auto& c : p)
    if (!c.empty() && c != "/") parts.push_back(c.string());
  const std::size_t from = parts.size() > k ? parts.size() - k : 0;
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}
}  // namespace

std::vector<std::string> read_dump_list(const std::string& list_path) {
  std::ifstream in(list_path, std::ios::binary);
  if (!in || fs::is_directory(list_path)) throw InputError(list_path + ": cannot read the dump list (--dump-list)");
  const fs::path base = fs::path(list_path).parent_path();
  std::vector<std::string> paths;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    for (const char ch : line)
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
        throw InputError(list_path + ": line " + std::to_string(n) +
                         " holds a control character; a dump list holds one path per line");
    const std::string entry = trim(line);
    if (entry.empty() || entry[0] == '#') continue;
    const fs::path p(entry);
    paths.push_back(p.is_absolute() ? entry : (base / p).string());
  }
  if (in.bad()) throw InputError(list_path + ": cannot read the dump list (--dump-list)");
  if (paths.empty()) throw InputError(list_path + ": the dump list names no dump (--dump-list)");
  return paths;
}

std::vector<std::string> corpus_labels(const std::vector<std::string>& paths) {
  std::vector<fs::path> full;
  for (const auto& p : paths) full.push_back(normalised(p));
  std::vector<std::string> labels;
  for (const auto& p : paths) labels.push_back(dump_label(p));
  std::map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < labels.size(); ++i) by_name[labels[i]].push_back(i);
  for (const auto& [name, group] : by_name) {
    if (group.size() < 2) continue;
    for (std::size_t k = 2;; ++k) {
      std::set<std::string> seen;
      bool unique = true;
      for (std::size_t i : group) unique &= seen.insert(tail(full[i], k)).second;
      if (unique) {
        for (std::size_t i : group) labels[i] = tail(full[i], k);
        break;
      }
    }
  }
  // A collision label may equal another dump's plain file name only if that
  // file name held a '/', which it cannot: labels are unique here.
  return labels;
}

std::vector<CorpusEntry> make_corpus(const std::vector<std::string>& dumps, const std::string& dump_list) {
  std::vector<std::string> paths = dumps;
  if (!dump_list.empty())
    for (auto& p : read_dump_list(dump_list)) paths.push_back(std::move(p));
  if (paths.empty()) throw UsageError("give at least one dump: --dump FILE (repeatable) or --dump-list FILE");
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].empty()) throw UsageError("--dump: empty path");
    const auto [it, fresh] = seen.emplace(normalised(paths[i]).string(), i);
    if (!fresh)
      throw UsageError("--dump: " + paths[i] + " is listed twice (also as " + paths[it->second] + ")");
  }
  const std::vector<std::string> labels = corpus_labels(paths);
  std::vector<CorpusEntry> corpus;
  for (std::size_t i = 0; i < paths.size(); ++i) corpus.push_back({paths[i], labels[i]});
  return corpus;
}

}  // namespace kvsim
