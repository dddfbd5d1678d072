#include "io/model/load_model.hpp"

#include <filesystem>

#include "io/errors.hpp"
#include "io/model/hf_loader.hpp"
#include "io/model/llama2c_loader.hpp"

namespace kvsim {

LoadedModel load_model(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw InputError(path + ": model path does not exist");
  if (fs::is_directory(path)) return load_hf_model(path);
  if (fs::path(path).extension() == ".bin") return load_llama2c_model(path);
  throw InputError(path + ": not a model: expected an HF checkpoint directory (config.json + *.safetensors) "
                          "or a llama2.c .bin file");
}

}  // namespace kvsim
