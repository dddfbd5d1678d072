#pragma once
// The records kvsim writes about a run: run.json (replay, sweep, the
// notebooks), analyze.json and the notebooks' summary.json. Every one of them
// is built here: the provenance (kvsim version, git revision), the command,
// the dump's identity, the warnings and the timings have one spelling, and
// each record is written the same way (atomically, 2-space JSON, final
// newline). What else a record holds is its command's own (set/merge).
#include <string>

#include <nlohmann/json.hpp>

#include "sim/run/warnings.hpp"

namespace kvsim {

class DumpReader;
struct DumpAttrs;

// Every root attribute of a dump (DESIGN §1), null where the dump has none.
nlohmann::json dump_attrs_json(const DumpAttrs& attrs);

// Which dump a replay read: its absolute path, size, attributes and whether it
// has o_proj (run.json's "dump").
nlohmann::json replayed_dump_json(const DumpReader& dump);

class RunReport {
 public:
  RunReport& provenance();                      // "kvsim_version", "git_revision"
  RunReport& command(const std::string& name);  // "command"
  RunReport& dump(nlohmann::json identity);     // "dump"
  RunReport& warnings(const WarningLog& log);   // "warnings"
  // "wall_seconds" and "timing_seconds" (each step's seconds)
  RunReport& timings(double wall_seconds, nlohmann::json steps);
  RunReport& set(const std::string& key, nlohmann::json value);
  RunReport& merge(const nlohmann::json& fields);  // each key of an object

  const nlohmann::json& json() const { return json_; }
  // Writes the record to `path` atomically (InputError on failure).
  void write(const std::string& path) const;

 private:
  nlohmann::json json_ = nlohmann::json::object();
};

}  // namespace kvsim
