#include "sim/geometry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "io/errors.hpp"

namespace kvsim {

LayerGeom LayerGeom::from(const DumpAttrs& a, int context_len) {
  LayerGeom g;
  g.H = a.n_heads;
  g.G = a.n_kv_heads;
  g.r = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 1;
  g.d = a.head_dim;
  g.T = a.n_tokens;
  g.C = context_len;
  g.D = a.hidden_size;
  g.scale = static_cast<float>(a.attn_scale ? *a.attn_scale : 1.0 / std::sqrt(double(a.head_dim)));
  return g;
}

int BudgetSpec::tokens(int context_len) const {
  if (ratio) return static_cast<int>(std::floor(value * context_len + 1e-9));
  return static_cast<int>(value);
}

namespace {
bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

// Grammar: a token count is decimal digits without a leading zero ("2048"); a
// ratio is a decimal fraction with digits after the point ("0.25", ".5",
// "1.0"). strtod's extras (sign, exponent, hex, inf/nan, leading blanks) are
// rejected: "0x10" would otherwise be 16 tokens and "1e3" a ratio of 1000.
BudgetSpec BudgetSpec::parse(const std::string& text) {
  BudgetSpec b;
  b.text = text;
  const std::string expected = "--budget '" + text +
                               "': expected a token count (e.g. 2048) or a ratio in (0, 1] (e.g. 0.25)";
  const auto point = text.find('.');
  if (point == std::string::npos) {
    if (!all_digits(text)) throw UsageError(expected);
    if (text.size() > 1 && text[0] == '0')
      throw UsageError("--budget '" + text + "': a token count is written without leading zeros");
    if (text.size() > 10 || std::stod(text) > 2e9) throw UsageError("--budget '" + text + "': bad token count");
    b.value = std::stod(text);
    if (b.value <= 0) throw UsageError(expected);
    b.ratio = false;
    return b;
  }
  const std::string whole = text.substr(0, point), fraction = text.substr(point + 1);
  if (!(whole.empty() || all_digits(whole)) || !all_digits(fraction)) throw UsageError(expected);
  b.value = std::strtod(text.c_str(), nullptr);
  if (b.value <= 0) throw UsageError(expected);
  if (b.value > 1.0)
    throw UsageError("--budget '" + text + "': a ratio must be in (0, 1]; token counts are integers");
  b.ratio = true;
  return b;
}

std::vector<BudgetSpec> parse_budget_list(const std::string& text) {
  std::vector<BudgetSpec> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    out.push_back(BudgetSpec::parse(item));
  }
  if (out.empty()) throw UsageError("--budgets: empty list");
  return out;
}

std::vector<int> parse_layer_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    try {
      std::size_t pos = 0;
      out.push_back(std::stoi(item, &pos));
      if (pos != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError("--layers: '" + item + "' is not a layer index");
    }
  }
  return out;
}

int resolve_context_len(const DumpAttrs& a, int window) {
  int C;
  if (a.context_len) {
    C = *a.context_len;
    if (C < 1 || C >= a.n_tokens)
      throw InputError("attribute context_len=" + std::to_string(C) + " must be in [1, n_tokens=" +
                       std::to_string(a.n_tokens) + ")");
  } else {
    if (window < 1 || window >= a.n_tokens)
      throw UsageError("--window " + std::to_string(window) + " must be in [1, n_tokens=" +
                       std::to_string(a.n_tokens) + ") (the dump has no context_len)");
    C = a.n_tokens - window;
  }
  return C;
}

void check_layer_shapes(const LayerTensors& x, const LayerGeom& g, int layer) {
  auto fail = [&](const std::string& what, const auto& shape, const std::string& want) {
    std::ostringstream os;
    os << "/layers/" << layer << "/" << what << ": shape [";
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << "], expected " << want;
    throw InputError(os.str());
  };
  auto s3 = [](int a, int b, int c) {
    return "[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + "]";
  };
  if (x.q.shape(0) != std::size_t(g.H) || x.q.shape(1) != std::size_t(g.T) || x.q.shape(2) != std::size_t(g.d))
    fail("q", x.q.shape(), s3(g.H, g.T, g.d));
  if (x.k.shape(0) != std::size_t(g.G) || x.k.shape(1) != std::size_t(g.T) || x.k.shape(2) != std::size_t(g.d))
    fail("k", x.k.shape(), s3(g.G, g.T, g.d));
  if (x.v.shape(0) != std::size_t(g.G) || x.v.shape(1) != std::size_t(g.T) || x.v.shape(2) != std::size_t(g.d))
    fail("v", x.v.shape(), s3(g.G, g.T, g.d));
  if (x.o_proj && (x.o_proj->shape(0) != std::size_t(g.D) || x.o_proj->shape(1) != std::size_t(g.H * g.d)))
    fail("o_proj", x.o_proj->shape(),
         "[" + std::to_string(g.D) + ", " + std::to_string(g.H * g.d) + "]");
}

}  // namespace kvsim
