#include "sim/run/run_report.hpp"

#include <filesystem>

#include "io/atomic_file.hpp"
#include "io/kvdump.hpp"
#include "sim/run/version.hpp"

namespace kvsim {

nlohmann::json dump_attrs_json(const DumpAttrs& a) {
  nlohmann::json j = {{"kvdump_version", a.version}, {"model", a.model},     {"source", a.source},
                      {"n_layers", a.n_layers},      {"n_heads", a.n_heads}, {"n_kv_heads", a.n_kv_heads},
                      {"head_dim", a.head_dim},      {"hidden_size", a.hidden_size},
                      {"n_tokens", a.n_tokens},      {"rope_theta", a.rope_theta}};
  j["attn_scale"] = a.attn_scale ? nlohmann::json(*a.attn_scale) : nlohmann::json(nullptr);
  j["context_len"] = a.context_len ? nlohmann::json(*a.context_len) : nlohmann::json(nullptr);
  if (a.question_len) j["question_len"] = *a.question_len;
  return j;
}

nlohmann::json replayed_dump_json(const DumpReader& dump) {
  return {{"path", std::filesystem::absolute(dump.path()).string()},
          {"size_bytes", dump.file_size()},
          {"attrs", dump_attrs_json(dump.attrs())},
          {"has_o_proj", dump.has_o_proj()}};
}

RunReport& RunReport::provenance() {
  json_["kvsim_version"] = kvsim_version();
  json_["git_revision"] = kvsim_git_revision();
  return *this;
}

RunReport& RunReport::command(const std::string& name) { return set("command", name); }

RunReport& RunReport::dump(nlohmann::json identity) { return set("dump", std::move(identity)); }

RunReport& RunReport::warnings(const WarningLog& log) { return set("warnings", log.to_json()); }

RunReport& RunReport::timings(double wall_seconds, nlohmann::json steps) {
  set("wall_seconds", wall_seconds);
  return set("timing_seconds", std::move(steps));
}

RunReport& RunReport::set(const std::string& key, nlohmann::json value) {
  json_[key] = std::move(value);
  return *this;
}

RunReport& RunReport::merge(const nlohmann::json& fields) {
  for (auto it = fields.begin(); it != fields.end(); ++it) json_[it.key()] = it.value();
  return *this;
}

void RunReport::write(const std::string& path) const {
  write_file_atomically(path, json_.dump(2) + "\n");
}

}  // namespace kvsim
