#include "io/tokenizer/load_tokenizer.hpp"

#include <filesystem>
#include <fstream>

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

std::vector<int> read_token_ids_file(const std::string& path, int vocab_size) {
  require_regular_file(path);
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open tokens file");
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
    if (used != word.size()) throw InputError(path + ": '" + word + "' is not a token id");
    if (value < 0 || value >= vocab_size) {
      throw InputError(path + ": token id " + word + " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    ids.push_back(static_cast<int>(value));
  }
  if (ids.empty()) throw InputError(path + ": no token ids");
  return ids;
}

}  // namespace kvsim
