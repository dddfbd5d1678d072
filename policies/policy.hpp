#pragma once
// The policy interface: a policy scores candidate tokens (higher = keep); the
// replay engine (sim/engine/) does block processing, protections, selection,
// GQA reduction and metrics. Adding a policy = one .cpp file here exposing
// `PolicyInfo <name>_policy_info()` + one line in policies/registry.cpp.
#include <any>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "io/layer_geometry.hpp"
#include "policies/kernels/gqa.hpp"
#include "policies/kernels/selection.hpp"

namespace kvsim {

struct FutureAttention;

// How the top-N selection pools candidates.
enum class Pooling {
  per_head,   // top N per KV head
  per_layer,  // top G*N over the layer's KV heads, each keeps >= pooled_floor_per_head(N)
  model       // one-shot top L*G*N over all layers (scores / layer_normalizer()), same floor
};

// Pooled selection (per_layer, model) first gives every KV head floor(0.2 N)
// of its own best tokens (LaProx's safeguard against starving a head), then
// pools the rest of the budget.
inline int pooled_floor_per_head(int budget) { return budget / 5; }

// Per-layer data computed once and shared by every policy instance and budget.
// Entries are keyed by their type, so what a policy reads back is exactly what
// it stored: there is no name to mistype and no cast to get wrong.
class LayerShared {
 public:
  const FutureAttention* future = nullptr;  // full future-query attention: only `oracle` reads it

  template <class T>
  const T* get() const {
    const auto it = entries_.find(std::type_index(typeid(T)));
    return it == entries_.end() ? nullptr : std::any_cast<T>(&it->second);
  }
  // Stores a T (filled serially in prepare_layer()); replaces an earlier one.
  template <class T>
  T& emplace(T value) {
    std::any& slot = entries_[std::type_index(typeid(T))];
    slot = std::move(value);
    return *std::any_cast<T>(&slot);
  }

 private:
  std::map<std::type_index, std::any> entries_;
};

// What a policy sees at one step of block prompt processing.
struct StepContext {
  const LayerTensors& x;  // whole layer; a policy reads queries at positions < block_end only
  const LayerGeom& geom;
  const LayerShared& shared;
  int layer;
  int block_begin;  // tokens [block_begin, block_end) joined the candidates at this step
  int block_end;    // processed prefix [0, block_end): its queries are visible
  const KeptSet& cand;  // candidates per KV head, sorted positions (cache ∪ block)
  int budget;           // N
  GqaReduce gqa;
  std::uint64_t seed;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Pooling pooling() const { return Pooling::per_head; }
  virtual bool keep_all() const { return false; }        // `full`
  virtual bool needs_o_proj() const { return false; }    // `laprox`
  virtual bool observes_fill() const { return false; }   // scored on the initial fill [0, N) (h2o)
  // Context-dependent parameter checks (e.g. window > context): UsageError naming the parameter.
  virtual void check(const LayerGeom& geom) const {}
  // Called serially once per layer before any scoring; may store in `shared`
  // (policy-independent precomputations, shared by every instance and budget).
  virtual void prepare_layer(const LayerTensors& x, const LayerGeom& geom, LayerShared& shared) const {}
  virtual void begin_layer(const StepContext& first_step) {}
  // Fills out[g][i] = score of cand[g][i]. May run its KV heads in parallel.
  virtual void score(const StepContext& ctx, Scores& out) = 0;
  // When this policy, at budget N (< C tokens per KV head), is not making the
  // selection it is named for (e.g. snapkv with N <= window keeps the most
  // recent N through its protections): {code, what happens instead}. The
  // sweep turns it into a warning naming the policy and budget.
  struct Caveat {
    std::string code, message;
  };
  // `block` is the block size B the item replays with (0 = one-shot).
  virtual std::vector<Caveat> caveats(int budget, int block, const LayerGeom& geom) const { return {}; }
  // Model-wide pooling divides a layer's one-shot scores by this (LaProx: ||Y_l||_F).
  virtual double layer_normalizer() const { return 1.0; }
};

struct ParamDef {
  std::string name;
  std::string default_value;
  std::string help;
};

class PolicyParams {
 public:
  std::string policy;
  std::map<std::string, std::string> values;  // defaults overridden by the user's values
  const std::string& get(const std::string& key) const;
  // Integer in [lo, hi]; otherwise UsageError naming "<policy>:<key>".
  int get_int(const std::string& key, int lo, int hi) const;
};

struct PolicyInfo {
  std::string name;
  std::string description;
  std::vector<ParamDef> params;
  std::function<std::unique_ptr<Policy>(const PolicyParams&)> make;  // validates values
};

struct PolicySpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> given;  // as typed, in order
  PolicyParams params;                                      // resolved
  std::string label() const;  // "name" or "name:k=v,k=v" (given parameters only)
};

const std::vector<PolicyInfo>& policy_registry();  // policies/registry.cpp
const PolicyInfo& find_policy(const std::string& name);  // UsageError listing valid names
std::string policy_names();                              // "full, random, ..."
// "snapkv:window=32,kernel=7" -> validated spec (UsageError on unknown name/parameter/value).
PolicySpec parse_policy_spec(const std::string& text);
// "all" or "a,b:k=v,k2=v2,c" (an item with '=' and no ':' continues the previous
// policy's parameters; ';' also separates policies).
std::vector<PolicySpec> parse_policy_list(const std::string& text);
std::unique_ptr<Policy> make_policy(const PolicySpec& spec);

}  // namespace kvsim
