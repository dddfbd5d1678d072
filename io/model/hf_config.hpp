#pragma once
// Reads a Hugging Face config.json of the LlamaForCausalLM family: Llama
// (1/2/3.x, incl. llama3 RoPE scaling), Mistral and Qwen2 (q/k/v biases).
// Anything else is refused with the architecture named, because silently
// running a model with a different block structure would produce garbage.
#include <string>

#include "io/model/model_config.hpp"

namespace kvsim {

// Throws InputError naming the file and the missing/invalid key.
ModelConfig parse_hf_config(const std::string& config_json_path);

// Same, from JSON text; `where` names the source in error messages.
ModelConfig parse_hf_config_text(const std::string& text, const std::string& where);

}  // namespace kvsim
