#include "io/json_error.hpp"
#include "io/tokenizer/hf_bpe_tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>

#include "io/errors.hpp"
#include "io/tokenizer/byte_level.hpp"
#include "io/tokenizer/unicode_normalization.hpp"
#include "io/tokenizer/utf8.hpp"

namespace kvsim {

using nlohmann::json;

namespace {

const std::string kMetaspace = "\xe2\x96\x81";  // U+2581 "▁"

std::string string_pattern(const json& op, const std::string& where) {
  const json& pattern = op.at("pattern");
  if (!pattern.contains("String"))
    throw InputError(where + ": Replace with a Regex pattern is not supported");
  return pattern["String"].get<std::string>();
}

// Flattens {"type": "Sequence", ...} and checks each step is one we implement.
void collect_ops(const json& node, const char* list_key, const std::vector<std::string>& supported,
                 const std::string& where, std::vector<HfBpeTokenizer::TextOp>& out) {
  if (node.is_null()) return;
  const std::string type = node.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const json& child : node.at(list_key)) collect_ops(child, list_key, supported, where, out);
    return;
  }
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    throw InputError(where + ": " + std::string(list_key) + " step '" + type +
                     "' is not supported by kvsim's BPE tokenizer (use --tokens-file)");
  }
  HfBpeTokenizer::TextOp op;
  op.type = type;
  if (type == "Replace") {
    op.from = string_pattern(node, where);
    op.to = node.at("content").get<std::string>();
    if (op.from.empty()) throw InputError(where + ": Replace with an empty pattern");
  } else if (type == "Prepend") {
    op.to = node.at("prepend").get<std::string>();
  } else if (type == "Strip") {
    op.from = node.value("content", std::string(" "));
    op.start = node.value("start", 0);
    op.stop = node.value("stop", 0);
  } else if (type == "Metaspace") {
    op.to = node.value("replacement", kMetaspace);
    op.prepend = node.value("prepend_scheme", std::string("always")) != "never" && node.value("add_prefix_space", true);
  }
  out.push_back(op);
}

// ByteFallback decoder: "<0xNN>" -> that byte (a run of them is one string).
bool parse_byte_piece(const std::string& piece, unsigned char& byte) {
  unsigned int value = 0;
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return false;
  if (std::sscanf(piece.c_str() + 3, "%02X", &value) != 1) return false;
  byte = static_cast<unsigned char>(value);
  return true;
}

// The single-sequence template of a post_processor: special-token ids, with
// -1 where the sequence goes. ByteLevel adds nothing (it only trims offsets).
void collect_template(const json& node, const std::string& where, std::vector<int>& out) {
  const std::string type = node.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<int> inner{-1};
    for (const json& child : node.at("processors")) {
      std::vector<int> step;
      collect_template(child, where, step);
      std::vector<int> composed;  // step's template with `inner` in place of its sequence
      for (int id : step) {
        if (id == -1) composed.insert(composed.end(), inner.begin(), inner.end());
        else composed.push_back(id);
      }
      inner = std::move(composed);
    }
    out.insert(out.end(), inner.begin(), inner.end());
  } else if (type == "ByteLevel") {
    out.push_back(-1);
  } else if (type == "TemplateProcessing") {
    const json& specials = node.value("special_tokens", json::object());
    for (const json& item : node.at("single")) {
      if (item.contains("Sequence")) {
        if (item["Sequence"].at("id").get<std::string>() != "A")
          throw InputError(where + ": post_processor template names sequence B for a single text");
        out.push_back(-1);
        continue;
      }
      const std::string name = item.at("SpecialToken").at("id").get<std::string>();
      if (!specials.contains(name)) throw InputError(where + ": post_processor names special token '" + name +
                                                     "' that its special_tokens does not define");
      for (const json& id : specials[name].at("ids")) out.push_back(id.get<int>());
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    out.push_back(node.at("cls").at(1).get<int>());
    out.push_back(-1);
    out.push_back(node.at("sep").at(1).get<int>());
  } else {
    throw InputError(where + ": post_processor '" + type + "' is not supported by kvsim's tokenizer");
  }
}

}  // namespace

HfBpeTokenizer::HfBpeTokenizer(const std::string& path) : path_(path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open tokenizer");
  json doc;
  try {
    doc = json::parse(in);
    const json& model = doc.at("model");
    const std::string model_type = model.value("type", std::string("BPE"));
    if (model_type != "BPE")
      throw InputError(path + ": tokenizer model '" + model_type + "' is not supported (BPE only; use --tokens-file)");
    pre_tokenizers_ = PreTokenizer::parse(doc["pre_tokenizer"], path);
    const bool byte_level = std::any_of(pre_tokenizers_.begin(), pre_tokenizers_.end(), [](const PreTokenizer& p) {
      return p.kind() == PreTokenizer::Kind::byte_level;
    });
    // Vocabulary: the model's, then added tokens (which may extend it).
    // A real vocabulary numbers its N entries 0..N-1; an id far beyond the
    // number of entries is corruption, and would size the tables from it.
    const std::size_t entries = model.at("vocab").size() + doc.value("added_tokens", json::array()).size();
    const std::size_t max_id = 16 * entries + 1024;
    auto check_id = [&](int id, const std::string& piece) {
      if (id < 0) throw InputError(path + ": negative id for '" + piece + "'");
      if (static_cast<std::size_t>(id) > max_id)
        throw InputError(path + ": id " + std::to_string(id) + " of '" + piece + "' is far beyond the " +
                         std::to_string(entries) + " entries of the vocabulary (corrupt tokenizer?)");
    };
    for (const auto& [piece, id_json] : model.at("vocab").items()) {
      const int id = id_json.get<int>();
      check_id(id, piece);
      if (static_cast<std::size_t>(id) >= pieces_.size()) pieces_.resize(id + 1);
      pieces_[id] = piece;
      ids_[piece] = id;
    }
    special_.assign(pieces_.size(), false);
    for (const json& added : doc.value("added_tokens", json::array())) {
      const int id = added.at("id").get<int>();
      const std::string content = added.at("content").get<std::string>();
      check_id(id, content);
      for (const char* flag : {"lstrip", "rstrip", "single_word"})
        if (added.value(flag, false))
          throw InputError(path + ": added token '" + content + "' sets " + flag +
                           ", which kvsim's tokenizer does not implement");
      if (static_cast<std::size_t>(id) >= pieces_.size()) {
        pieces_.resize(id + 1);
        special_.resize(id + 1, false);
      }
      pieces_[id] = content;
      ids_[content] = id;
      special_[id] = added.value("special", false);
      (added.value("normalized", false) ? normalized_added_ : raw_added_).emplace_back(content, id);
    }

    int rank = 0;
    for (const json& merge : model.at("merges")) {
      std::string left, right;
      if (merge.is_array()) {  // tokenizers >= 0.20 format
        left = merge.at(0).get<std::string>();
        right = merge.at(1).get<std::string>();
      } else {
        const std::string text = merge.get<std::string>();
        const auto space = text.find(' ');
        if (space == std::string::npos) throw InputError(path + ": malformed merge '" + text + "'");
        left = text.substr(0, space);
        right = text.substr(space + 1);
      }
      const int a = id_of(left), b = id_of(right), merged = id_of(left + right);
      if (a < 0 || b < 0 || merged < 0)
        throw InputError(path + ": merge '" + left + " " + right + "' uses pieces that are not in the vocabulary");
      merges_.emplace(std::make_pair(a, b), std::make_pair(rank++, merged));
    }
    byte_fallback_ = model.value("byte_fallback", false);
    fuse_unk_ = model.value("fuse_unk", false);
    ignore_merges_ = model.value("ignore_merges", false);
    if (model.contains("unk_token") && model["unk_token"].is_string()) unk_id_ = id_of(model["unk_token"].get<std::string>());

    collect_ops(doc["normalizer"], "normalizers", {"Prepend", "Replace", "NFC", "NFD", "NFKC", "NFKD"}, path,
                normalizers_);
    collect_ops(doc["decoder"], "decoders", {"Replace", "ByteFallback", "Fuse", "Strip", "Metaspace", "ByteLevel"},
                path, decoders_);
    if (byte_level && std::none_of(decoders_.begin(), decoders_.end(), [](const TextOp& op) {
          return op.type == "ByteLevel";
        }))
      throw InputError(path + ": a ByteLevel pre_tokenizer without a ByteLevel decoder cannot be decoded");
    if (!doc["post_processor"].is_null()) {
      post_template_.emplace();
      collect_template(doc["post_processor"], path, *post_template_);
      for (int id : *post_template_)
        if (id != -1 && (id < 0 || id >= static_cast<int>(pieces_.size())))
          throw InputError(path + ": post_processor adds token id " + std::to_string(id) +
                           ", outside the vocabulary");
    }
    for (auto& added : normalized_added_) added.first = normalize(added.first);
    auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
    std::stable_sort(raw_added_.begin(), raw_added_.end(), longest_first);
    std::stable_sort(normalized_added_.begin(), normalized_added_.end(), longest_first);
  } catch (const json::exception& e) {
    throw InputError(path + ": malformed tokenizer.json: " + json_error_detail(e));
  }
}

int HfBpeTokenizer::id_of(const std::string& piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int> HfBpeTokenizer::bpe_word(const std::string& word) const {
  if (ignore_merges_) {
    if (int id = id_of(word); id >= 0) return {id};
  }
  std::vector<int> symbols;
  for (const std::string& cp : utf8::split_code_points(word)) {
    if (int id = id_of(cp); id >= 0) {
      symbols.push_back(id);
      continue;
    }
    bool fell_back = false;
    if (byte_fallback_) {
      std::vector<int> bytes;
      for (unsigned char byte : cp) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", byte);
        int id = id_of(name);
        if (id < 0) break;
        bytes.push_back(id);
      }
      if (bytes.size() == cp.size()) {
        symbols.insert(symbols.end(), bytes.begin(), bytes.end());
        fell_back = true;
      }
    }
    if (!fell_back) {
      if (unk_id_ < 0) throw InputError(path_ + ": character '" + cp + "' is not in the vocabulary and there is no unk_token");
      if (!(fuse_unk_ && !symbols.empty() && symbols.back() == unk_id_)) symbols.push_back(unk_id_);
    }
  }
  // Merge the lowest-rank adjacent pair (leftmost on ties) until none
  // applies: a heap of candidate pairs over a linked list of symbols, so a
  // long word costs n log n, not n^2.
  const int n = static_cast<int>(symbols.size());
  std::vector<int> next(n), prev(n);
  for (int i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  struct Candidate {
    int rank, left, left_id, right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push_pair = [&](int left) {
    const int right = left < 0 ? -1 : next[left];
    if (right < 0) return;
    auto it = merges_.find({symbols[left], symbols[right]});
    if (it != merges_.end()) heap.push({it->second.first, left, symbols[left], symbols[right]});
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    const int right = next[top.left];
    // Stale: one side has merged since this pair was pushed.
    if (!alive[top.left] || right < 0 || symbols[top.left] != top.left_id || symbols[right] != top.right_id) continue;
    symbols[top.left] = merges_.at({top.left_id, top.right_id}).second;
    alive[right] = false;
    next[top.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.left;
    push_pair(prev[top.left]);
    push_pair(top.left);
  }
  std::vector<int> merged;
  for (int i = 0; i >= 0 && i < n; i = next[i]) merged.push_back(symbols[i]);
  return merged;
}

std::string HfBpeTokenizer::normalize(const std::string& text) const {
  std::string out = text;
  for (const TextOp& op : normalizers_) {
    if (op.type == "Prepend") out = out.empty() ? out : op.to + out;
    else if (op.type == "Replace") out = utf8::replace_all(out, op.from, op.to);
    else if (op.type == "NFC") out = unicode_normalize(out, UnicodeForm::nfc, path_);
    else if (op.type == "NFD") out = unicode_normalize(out, UnicodeForm::nfd, path_);
    else if (op.type == "NFKC") out = unicode_normalize(out, UnicodeForm::nfkc, path_);
    else if (op.type == "NFKD") out = unicode_normalize(out, UnicodeForm::nfkd, path_);
  }
  return out;
}

std::vector<int> HfBpeTokenizer::encode_normalized(const std::string& normalized, bool starts_text) const {
  std::vector<PreTokenizedPiece> words{{normalized, starts_text}};
  for (const PreTokenizer& step : pre_tokenizers_) step.apply(words);
  std::vector<int> ids;
  for (const PreTokenizedPiece& word : words) {
    if (word.text.empty()) continue;
    auto part = bpe_word(word.text);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

namespace {

// Splits `text` at every occurrence of an added token (longest match first,
// scanning left to right): calls on_text for the pieces between and
// on_token for each match.
template <typename OnText, typename OnToken>
void split_on_added(const std::string& text, const std::vector<std::pair<std::string, int>>& added,
                    OnText on_text, OnToken on_token) {
  std::size_t segment_start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::pair<std::string, int>* hit = nullptr;
    for (const auto& candidate : added) {
      if (!candidate.first.empty() && text.compare(pos, candidate.first.size(), candidate.first) == 0) {
        hit = &candidate;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    if (pos > segment_start) on_text(text.substr(segment_start, pos - segment_start));
    on_token(hit->second);
    pos += hit->first.size();
    segment_start = pos;
  }
  if (text.size() > segment_start) on_text(text.substr(segment_start));
}

}  // namespace

std::vector<int> HfBpeTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  bool starts_text = true;
  auto push_token = [&](int id) {
    ids.push_back(id);
    starts_text = false;
  };
  auto encode_plain = [&](const std::string& normalized_piece) {
    auto part = encode_normalized(normalized_piece, starts_text);
    ids.insert(ids.end(), part.begin(), part.end());
    starts_text = false;
  };
  split_on_added(text, raw_added_,
                 [&](const std::string& raw_piece) {
                   split_on_added(normalize(raw_piece), normalized_added_, encode_plain, push_token);
                 },
                 push_token);
  return ids;
}

std::vector<std::string> HfBpeTokenizer::decode_pieces(std::vector<std::string> pieces, bool strip) const {
  for (const TextOp& op : decoders_) {
    if (op.type == "Replace") {
      for (auto& piece : pieces) piece = utf8::replace_all(piece, op.from, op.to);
    } else if (op.type == "Metaspace") {
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        pieces[i] = utf8::replace_all(pieces[i], op.to, " ");
        if (strip && i == 0 && op.prepend && !pieces[i].empty() && pieces[i][0] == ' ') pieces[i].erase(0, 1);
      }
    } else if (op.type == "ByteFallback") {
      std::vector<std::string> out;
      std::string bytes;
      std::size_t byte_pieces = 0;
      auto flush_bytes = [&]() {
        if (byte_pieces == 0) return;
        if (utf8::is_valid(bytes)) out.push_back(bytes);
        else for (std::size_t i = 0; i < byte_pieces; ++i) out.push_back("\xef\xbf\xbd");  // U+FFFD
        bytes.clear();
        byte_pieces = 0;
      };
      for (const auto& piece : pieces) {
        unsigned char byte;
        if (parse_byte_piece(piece, byte)) {
          bytes.push_back(static_cast<char>(byte));
          ++byte_pieces;
        } else {
          flush_bytes();
          out.push_back(piece);
        }
      }
      flush_bytes();
      pieces = std::move(out);
    } else if (op.type == "ByteLevel") {
      // Bytes may span pieces (a character split over tokens): join first.
      std::string all;
      for (const auto& piece : pieces) all += byte_level::decode_token(piece);
      // token_text (strip = false) shows a token that ends inside a
      // character by its piece, so it needs to see the broken bytes.
      pieces = {strip ? utf8::make_valid(all) : all};
    } else if (op.type == "Fuse") {
      std::string all;
      for (const auto& piece : pieces) all += piece;
      pieces = {all};
    } else if (op.type == "Strip" && strip) {
      for (auto& piece : pieces) {
        for (int i = 0; i < op.start && piece.compare(0, op.from.size(), op.from) == 0; ++i)
          piece.erase(0, op.from.size());
        for (int i = 0; i < op.stop && piece.size() >= op.from.size() &&
                        piece.compare(piece.size() - op.from.size(), op.from.size(), op.from) == 0;
             ++i)
          piece.erase(piece.size() - op.from.size());
      }
    }
  }
  return pieces;
}

std::string HfBpeTokenizer::decode_ids(const std::vector<int>& ids, bool skip_special) const {
  std::vector<std::string> pieces;
  for (int id : ids) {
    if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
    if (!(skip_special && special_[id])) pieces.push_back(pieces_[id]);
  }
  std::string out;
  for (const auto& piece : decode_pieces(std::move(pieces), true)) out += piece;
  return out;
}

std::string HfBpeTokenizer::decode(const std::vector<int>& ids) const { return decode_ids(ids, true); }

std::string HfBpeTokenizer::decode_with_special_tokens(const std::vector<int>& ids) const {
  return decode_ids(ids, false);
}

std::optional<std::vector<int>> HfBpeTokenizer::with_special_tokens(const std::vector<int>& ids) const {
  if (!post_template_) return std::nullopt;
  std::vector<int> out;
  for (int id : *post_template_) {
    if (id == -1) out.insert(out.end(), ids.begin(), ids.end());
    else out.push_back(id);
  }
  return out;
}

std::string HfBpeTokenizer::token_text(int id) const {
  if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
  if (special_[id]) return pieces_[id];
  std::string out;
  for (const auto& piece : decode_pieces({pieces_[id]}, false)) out += piece;
  return utf8::is_valid(out) ? out : pieces_[id];
}

}  // namespace kvsim
