#include "io/model/load_model.hpp"

#include <filesystem>

#include "io/errors.hpp"
#include "io/regular_file.hpp"
#include "io/model/hf_loader.hpp"
#include "io/model/llama2c_loader.hpp"

namespace kvsim {

LoadedModel load_model(const std::string& path, int max_layers) {
  namespace fs = std::filesystem;
  if (max_layers < 0) throw UsageError("--max-layers must be >= 1, got " + std::to_string(max_layers));
  const PathStatus status = path_status(path);
  if (status.kind == PathKind::missing) throw InputError(path + ": model path does not exist");
  if (status.kind == PathKind::inaccessible) throw InputError(path + ": cannot access: " + status.detail);
  if (status.kind == PathKind::directory) return load_hf_model(path, max_layers);
  if (fs::path(path).extension() == ".bin") return load_llama2c_model(path, max_layers);
  throw InputError(path + ": not a model: expected an HF checkpoint directory (config.json + *.safetensors) "
                          "or a llama2.c .bin file");
}

}  // namespace kvsim
