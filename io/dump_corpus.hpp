#pragma once
// A corpus: the dumps one run replays, in the order given. `--dump` may be
// repeated and `--dump-list FILE` adds one path per line; every table kvsim
// writes tells the dumps apart by their labels, which stay unique when file
// names collide.
#include <string>
#include <vector>

namespace kvsim {

struct CorpusEntry {
  std::string path;   // as given (list entries: resolved against the list's folder)
  std::string label;  // the `dump` column of every table
};

// Reads a dump list: one path per line; blank lines and lines starting with
// '#' (after leading blanks) are ignored; surrounding blanks are trimmed;
// relative paths are resolved against the list's folder. InputError naming
// the file (and line) when it cannot be read, holds no path, or a line holds
// a NUL or a control character.
std::vector<std::string> read_dump_list(const std::string& list_path);

// --dump paths first, then the list's. UsageError when none is given or one
// file is named twice (same absolute, normalised path).
std::vector<CorpusEntry> make_corpus(const std::vector<std::string>& dumps, const std::string& dump_list);

// Labels for the paths: the file name (dump_label) where it is unique;
// otherwise the shortest trailing part of the normalised absolute paths
// ("a/x.h5", "b/x.h5") that tells the colliding dumps apart.
std::vector<std::string> corpus_labels(const std::vector<std::string>& paths);

}  // namespace kvsim
