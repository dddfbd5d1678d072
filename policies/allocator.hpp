#pragma once
// Budget allocators wrap any scorer (kvpress's AdaKVPress(SnapKVPress()),
// PyramidKVPress, PerLayerCompressionPress): the inner policy scores, the
// allocator only decides how many tokens each KV head and each layer keeps.
// AllocatorPolicy forwards everything to the inner policy; an allocator
// overrides pooling(), pooled_floor() or layer_budget().
#include <memory>
#include <utility>

#include "io/errors.hpp"
#include "policies/policy.hpp"

namespace kvsim {

class AllocatorPolicy : public Policy {
 public:
  AllocatorPolicy(const std::string& name, std::unique_ptr<Policy> inner) : name_(name), inner_(std::move(inner)) {
    // full keeps everything (nothing to allocate); a model-wide pooled
    // policy already allocates over layers and heads itself.
    if (inner_->keep_all()) throw UsageError(name + "(full): full keeps everything; there is no budget to allocate");
    if (inner_->pooling() == Pooling::model)
      throw UsageError(name + ": the inner policy pools over the whole model (laprox:mode=model) and allocates "
                              "its own budgets; wrap a per-head or per-layer policy");
  }
  Pooling pooling() const override { return inner_->pooling(); }
  bool needs_o_proj() const override { return inner_->needs_o_proj(); }
  bool uses_q_pre_rope() const override { return inner_->uses_q_pre_rope(); }
  bool observes_fill() const override { return inner_->observes_fill(); }
  void check(const LayerGeom& geom) const override { inner_->check(geom); }
  void prepare_layer(const LayerTensors& x, const LayerGeom& geom, LayerShared& shared) const override {
    inner_->prepare_layer(x, geom, shared);
  }
  void begin_layer(const StepContext& first_step) override { inner_->begin_layer(first_step); }
  void score(const StepContext& ctx, Scores& out) override { inner_->score(ctx, out); }
  // The inner policy's caveat describes its own selection at N; the wrapper
  // changes that selection (pools, rescales, chunks or re-budgets it), so
  // the message says whose it is.
  std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const override {
    std::vector<Caveat> out = inner_->caveats(budget, block, geom);
    for (Caveat& c : out)
      c.message = "its inner policy alone: " + c.message + "; " + name_ + " changes the selection around it (docs/POLICIES.md)";
    return out;
  }
  double layer_normalizer() const override { return inner_->layer_normalizer(); }
  int layer_budget(int budget, int layer, const LayerGeom& geom, const LayerTensors& x) const override {
    return inner_->layer_budget(budget, layer, geom, x);
  }
  int pooled_floor(int budget) const override { return inner_->pooled_floor(budget); }
  bool selects_itself() const override { return inner_->selects_itself(); }
  bool select_kept(const KeptSet& cand, const Scores& scores, int budget, KeptSet& out) const override {
    return inner_->select_kept(cand, scores, budget, out);
  }

 protected:
  const Policy& inner() const { return *inner_; }

 private:
  std::string name_;
  std::unique_ptr<Policy> inner_;
};

// The registry entry of a wrapper: `wrap` builds it around its inner policy;
// a bare name wraps `default_inner` ("" = an inner policy is required).
struct WrapperEntry {
  std::string default_inner;
  bool in_all = true;
};
inline PolicyInfo wrapper_info(std::string name, std::string description, std::vector<ParamDef> params,
                               WrapperEntry entry,
                               std::function<std::unique_ptr<Policy>(const PolicyParams&, std::unique_ptr<Policy>)> wrap) {
  PolicyInfo info{std::move(name), std::move(description), std::move(params), nullptr};
  info.wrap = std::move(wrap);
  info.default_inner = std::move(entry.default_inner);
  info.in_all = entry.in_all;
  return info;
}

}  // namespace kvsim
