// kvsim capture: run a real checkpoint on CPU and record a kvdump v1 file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "io/errors.hpp"
#include "io/model/load_model.hpp"
#include "io/output_file_check.hpp"
#include "io/regular_file.hpp"
#include "io/text_file.hpp"
#include "policies/kernels/gemm_tally.hpp"
#include "io/tokenizer/load_tokenizer.hpp"
#include "sim/cli/options.hpp"
#include "sim/run/interrupt.hpp"
#include "sim/model/capture.hpp"

namespace kvsim::cli {

int cmd_capture(const Args& args) {
  po::options_description desc("capture options");
  bool no_q_pre_rope = false, compact = false;
  std::string model_path, tokenizer_path, prompt_file, question_file, tokens_file, out_path, dtype, model_name;
  int context_len = 0, generate = 0, max_layers = 0;
  desc.add_options()
      ("model", po::value(&model_path)->required(), "HF checkpoint directory (config.json + *.safetensors) or llama2.c .bin")
      ("tokenizer", po::value(&tokenizer_path), "tokenizer.json or llama2.c tokenizer .bin (default: found beside the model)")
      ("prompt-file", po::value(&prompt_file), "UTF-8 text: the context, inside the special tokens the tokenizer adds (Llama: BOS; Qwen: none)")
      ("question-file", po::value(&question_file), "UTF-8 text appended after the context as the first future queries")
      ("tokens-file", po::value(&tokens_file), "whitespace-separated token ids fed as given (bypasses the tokenizer)")
      ("context-len", po::value(&context_len), "with --tokens-file: tokens [0, C) are the context (default: all of them)")
      ("generate", po::value(&generate)->default_value(32), "greedy tokens generated after the prompt (future queries)")
      ("ignore-eos", po::bool_switch(), "keep generating past an end-of-sequence token")
      ("no-bos", po::bool_switch(), "with --prompt-file: add no special tokens (no BOS)")
      ("dtype", po::value(&dtype)->default_value("f32"), "storage type in the dump: f32 | f16")
      ("no-q-pre-rope", po::bool_switch(&no_q_pre_rope), "do not record the pre-RoPE queries (a smaller dump)")
      ("compact", po::bool_switch(&compact), "HDF5 1.10 format with shuffle + deflate: a smaller dump, slower to read")
      ("model-name", po::value(&model_name), "`model` attribute (default: the checkpoint's name)")
      ("max-layers", po::value(&max_layers), "run and record only the first N layers: an intentionally truncated model "
                                             "(default: all; a config.json with fewer layers than the checkpoint is an error)")
      ("out", po::value(&out_path)->required(), "output kvdump v1 file (.h5)");
  po::variables_map vm;
  if (!parse_options("capture", "--model M (--prompt-file F [--question-file Q] | --tokens-file F [--context-len C]) "
                                "[--generate N] --out dump.h5",
                     args, desc, vm))
    return 0;
  if (prompt_file.empty() == tokens_file.empty()) throw UsageError("give exactly one of --prompt-file and --tokens-file");
  if (!question_file.empty() && prompt_file.empty()) throw UsageError("--question-file needs --prompt-file");
  if (vm.count("context-len") && tokens_file.empty()) throw UsageError("--context-len needs --tokens-file (with --prompt-file the context is the prompt)");
  if (generate < 0) throw UsageError("--generate must be >= 0");
  if (vm.count("max-layers") && max_layers < 1) throw UsageError("--max-layers must be >= 1, got " + std::to_string(max_layers));
  StorageType storage;
  if (dtype == "f32") storage = StorageType::f32;
  else if (dtype == "f16") storage = StorageType::f16;
  else throw UsageError("--dtype must be f32 or f16, got '" + dtype + "'");

  // Up front, before the model runs: a capture that fails only when it writes
  // has wasted the whole run.
  require_creatable_output_file(out_path, "--out");
  for (const std::string* input : {&prompt_file, &question_file, &tokens_file})
    if (!input->empty()) require_regular_file(*input);
  set_memory_context(model_path + ": capture (memory: the mapped weights and every recorded layer's tensors)");
  const InterruptGuard interrupts;

  auto progress = [](const std::string& line) { std::cerr << "kvsim capture: " << line << std::endl; };
  const auto start = std::chrono::steady_clock::now();
  const LoadedModel model = load_model(model_path, max_layers);
  const ModelConfig& c = model.config;
  const bool truncated = c.n_layers < model.checkpoint_layers;
  const std::string truncation = "first " + std::to_string(c.n_layers) + " of " +
                                 std::to_string(model.checkpoint_layers) + " layers";
  if (truncated)
    progress("warning: --max-layers " + std::to_string(max_layers) + ": recording the " + truncation +
             "; the generated tokens and every tensor are those of this truncated model");
  progress("loaded " + model.format + " model '" + model.name + "': " + std::to_string(c.n_layers) + " layers, " +
           std::to_string(c.n_heads) + " query heads / " + std::to_string(c.n_kv_heads) + " KV heads, head_dim " +
           std::to_string(c.head_dim) + ", vocab " + std::to_string(c.vocab_size));
  // The tokenizer is required to encode text; with --tokens-file it only decodes.
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    tokenizer = load_tokenizer(model, model_path, tokenizer_path);
  } catch (const InputError&) {
    if (!prompt_file.empty() || !tokenizer_path.empty()) throw;
    progress("note: the model's tokenizer is not supported; the dump will have no /token_text");
  }

  CaptureRequest request;
  request.generate = generate;
  request.progress = progress;
  request.checkpoint = throw_if_interrupted;
  if (!vm["ignore-eos"].as<bool>()) request.stop_tokens = c.eos_token_ids;
  if (!prompt_file.empty()) {
    if (!tokenizer) throw InputError(model_path + ": no tokenizer found beside the model; pass --tokenizer or use --tokens-file");
    request.prompt_tokens = encode_prompt(*tokenizer, read_text_file(prompt_file, "--prompt-file"), c.bos_token_id,
                                          !vm["no-bos"].as<bool>());
    request.context_len = static_cast<int>(request.prompt_tokens.size());
    if (!question_file.empty()) {
      auto question = tokenizer->encode(read_text_file(question_file, "--question-file"));
      request.prompt_tokens.insert(request.prompt_tokens.end(), question.begin(), question.end());
      request.question_len = static_cast<int>(question.size());
    }
  } else {
    request.prompt_tokens = read_token_ids_file(tokens_file, c.vocab_size);
    request.context_len = vm.count("context-len") ? context_len : static_cast<int>(request.prompt_tokens.size());
  }
  if (request.context_len == static_cast<int>(request.prompt_tokens.size()) && generate == 0)
    progress("warning: no future tokens (context = whole prompt and --generate 0): replay needs --window");

  DumpMetadata meta;
  meta.model_name = !model_name.empty() ? model_name : truncated ? model.name + " (" + truncation + ")" : model.name;
  meta.source = model.format == "llama2c" ? "llama2c" : "kvsim-capture";
  meta.storage = storage;
  meta.q_pre_rope = !no_q_pre_rope;
  meta.layout.compact = compact;
  const CaptureResult result = capture_to_dump(model, request, out_path, tokenizer.get(), meta);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int T = static_cast<int>(result.tokens.size());
  std::printf("captured %s -> %s\n", meta.model_name.c_str(), out_path.c_str());
  std::printf("tokens: %d (context %d, future %d, generated %zu)\n", T, result.context_len, T - result.context_len,
              result.generated.size());
  std::printf("layers: %d, query heads %d, KV heads %d, head_dim %d, storage %s\n", c.n_layers, c.n_heads,
              c.n_kv_heads, c.head_dim, dtype.c_str());
  std::printf("seconds: %.3f total, %.3f prefill (%.1f tokens/s), %.3f generate (%.1f tokens/s)\n", total,
              result.prefill_seconds, request.prompt_tokens.size() / std::max(result.prefill_seconds, 1e-9),
              result.generate_seconds, result.generated.size() / std::max(result.generate_seconds, 1e-9));
  {
    // The prefill's GEMM rate next to this machine's: a square sgemm with the
    // same BLAS threads, measured now (best of 5 at 2048^3: one 1024^3 run
    // takes ~10 ms, short enough for a scheduler hiccup to halve it).
    const double gflops = prefill_flops(c, static_cast<int>(request.prompt_tokens.size())) /
                          std::max(result.prefill_seconds, 1e-9) * 1e-9;
    const double sgemm = square_sgemm_gflops(2048, 5);
    std::printf("prefill: %.1f GFLOP/s, %.0f%% of this run's sgemm 2048^3 (%.1f GFLOP/s)\n", gflops,
                100.0 * gflops / sgemm, sgemm);
  }
  if (tokenizer) {
    std::printf("generated text: %s\n", tokenizer->decode(result.generated).c_str());
  } else {
    std::printf("generated ids:");
    for (int id : result.generated) std::printf(" %d", id);
    std::printf("\n");
  }
  return 0;
}

}  // namespace kvsim::cli
