#include "sim/model/continuation.hpp"

#include "io/errors.hpp"

namespace kvsim {

namespace {
Transformer prefill(const LoadedModel& model, const std::vector<int>& tokens, int context_len) {
  if (context_len < 1 || context_len >= static_cast<int>(tokens.size()))
    throw InputError("--context-len " + std::to_string(context_len) + " must leave at least one of the " +
                     std::to_string(tokens.size()) + " tokens after the context (1 <= C < T)");
  Transformer t(model, static_cast<int>(tokens.size()));
  t.forward(std::vector<int>(tokens.begin(), tokens.begin() + context_len));
  return t;
}
}  // namespace

Continuation::Continuation(const LoadedModel& model, const std::vector<int>& tokens, int context_len)
    : future_(tokens.begin() + std::min<std::size_t>(tokens.size(), std::max(0, context_len)), tokens.end()),
      vocab_(model.config.vocab_size),
      prefilled_(prefill(model, tokens, context_len)) {}

std::vector<float> Continuation::logits(const ContextMask* mask) const {
  Transformer t = prefilled_;
  if (mask) t.set_context_mask(*mask);
  std::vector<float> out;
  t.forward(future_, nullptr, &out);
  return out;
}

}  // namespace kvsim
