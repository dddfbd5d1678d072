#include "io/tokenizer/load_tokenizer.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/errors.hpp"
#include "io/regular_file.hpp"
#include "io/tokenizer/hf_bpe_tokenizer.hpp"
#include "io/tokenizer/llama2c_tokenizer.hpp"

namespace kvsim {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> load_tokenizer(const LoadedModel& model, const std::string& model_path,
                                          const std::string& explicit_path) {
  std::string path = explicit_path;
  if (path.empty()) {
    std::vector<fs::path> candidates;
    if (model.format == "llama2c") {
      const fs::path dir = fs::path(model_path).parent_path();
      candidates = {dir / "tokenizer.bin", dir / ("tok" + std::to_string(model.config.vocab_size) + ".bin")};
    } else {
      candidates = {fs::path(model_path) / "tokenizer.json"};
    }
    for (const auto& candidate : candidates) {
      if (path_status(candidate.string()).kind != PathKind::missing) {
        path = candidate.string();
        break;
      }
    }
    if (path.empty()) return nullptr;
  }
  if (path_status(path).kind == PathKind::missing) throw InputError(path + ": tokenizer file does not exist");
  require_regular_file(path);
  if (fs::path(path).extension() == ".json") return std::make_unique<HfBpeTokenizer>(path);
  return std::make_unique<Llama2cTokenizer>(path, model.config.vocab_size);
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& file_or_directory) {
  const PathStatus status = path_status(file_or_directory);
  if (status.kind == PathKind::missing) throw InputError(file_or_directory + ": tokenizer does not exist");
  std::string path = file_or_directory;
  if (status.kind == PathKind::directory) {
    path = (fs::path(file_or_directory) / "tokenizer.json").string();
    if (path_status(path).kind == PathKind::missing)
      throw InputError(file_or_directory + ": directory has no tokenizer.json");
  } else if (fs::path(path).extension() != ".json") {
    throw InputError(path + ": not a tokenizer.json (a llama2.c tokenizer needs its model: use kvsim capture)");
  }
  require_regular_file(path);
  return std::make_unique<HfBpeTokenizer>(path);
}

std::vector<int> encode_prompt(const Tokenizer& tokenizer, const std::string& text, int config_bos_id,
                               bool add_special) {
  std::vector<int> ids = tokenizer.encode(text);
  if (!add_special) return ids;
  if (auto wrapped = tokenizer.with_special_tokens(ids)) return *wrapped;
  if (config_bos_id >= 0) ids.insert(ids.begin(), config_bos_id);
  return ids;
}

std::vector<int> parse_token_ids(const std::string& text, int vocab_size, const std::string& source) {
  std::istringstream in(text);
  std::vector<int> ids;
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    long value = -1;
    try {
      value = std::stol(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size()) throw InputError(source + ": '" + word + "' is not a token id");
    if (value < 0 || value >= vocab_size) {
      throw InputError(source + ": token id " + word + " is outside the vocabulary [0, " +
                       std::to_string(vocab_size) + ")");
    }
    ids.push_back(static_cast<int>(value));
  }
  if (ids.empty()) throw InputError(source + ": no token ids");
  return ids;
}

std::vector<int> read_token_ids_file(const std::string& path, int vocab_size) {
  require_regular_file(path);
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open tokens file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_token_ids(text.str(), vocab_size, path);
}

}  // namespace kvsim
