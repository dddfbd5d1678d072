#pragma once
// The name a dump goes by in every table kvsim writes: the `dump` column of
// results.csv, of the analysis CSVs and of the notebooks' CSVs, and the
// "label" of analyze.json and summary.json. Rows from several dumps are told
// apart by it, so every writer must derive it the same way.
#include <string>

namespace kvsim {

// The file name without its folders: "/data/run 1/a.h5" -> "a.h5".
std::string dump_label(const std::string& dump_path);

}  // namespace kvsim
