// kvsim tokenize: text -> token ids (or ids -> text with --decode) with a
// tokenizer.json, exactly as capture tokenizes a --prompt-file.
#include <iostream>
#include <nlohmann/json.hpp>

#include "io/errors.hpp"
#include "io/text_file.hpp"
#include "io/tokenizer/load_tokenizer.hpp"
#include "sim/cli/options.hpp"

namespace kvsim::cli {

int cmd_tokenize(const Args& args) {
  std::string tokenizer_path, text, text_file;
  bool add_special = false, decode = false, as_json = false;
  po::options_description desc("tokenize options");
  desc.add_options()
      ("tokenizer", po::value(&tokenizer_path)->required(), "tokenizer.json, or a model directory holding one")
      ("text", po::value(&text), "the text (encode) or the ids (with --decode)")
      ("text-file", po::value(&text_file), "read it from a file instead, every byte (UTF-8)")
      ("add-special", po::bool_switch(&add_special),
       "encode: add the post-processor's special tokens (e.g. BOS); decode: write special tokens out")
      ("decode", po::bool_switch(&decode), "the input is whitespace-separated ids; print their text")
      ("json", po::bool_switch(&as_json), "print JSON: {\"ids\", \"tokens\"} or {\"text\"}");
  po::variables_map vm;
  if (!parse_options("tokenize", "--tokenizer FILE|DIR (--text S | --text-file F) [--add-special] [--decode] [--json]",
                     args, desc, vm))
    return 0;
  if (vm.count("text") == vm.count("text-file")) throw UsageError("give exactly one of --text and --text-file");
  if (!text_file.empty()) text = read_text_file(text_file, "--text-file", TrailingLineBreaks::keep);
  const std::string source = text_file.empty() ? std::string("--text") : text_file;

  const auto tokenizer = load_tokenizer_json(tokenizer_path);
  if (decode) {
    const auto ids = parse_token_ids(text, tokenizer->vocab_size(), source);
    const std::string out = add_special ? tokenizer->decode_with_special_tokens(ids) : tokenizer->decode(ids);
    // Text goes out byte for byte, without a newline of its own.
    if (as_json) std::cout << nlohmann::json{{"text", out}}.dump() << "\n";
    else std::cout << out;
    return 0;
  }
  if (text.empty()) throw InputError(source + ": empty text");
  const auto ids = encode_prompt(*tokenizer, text, -1, add_special);
  if (as_json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int id : ids) tokens.push_back(tokenizer->token_text(id));
    std::cout << nlohmann::json{{"ids", ids}, {"tokens", tokens}}.dump() << "\n";
    return 0;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
  return 0;
}

}  // namespace kvsim::cli
