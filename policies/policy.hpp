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
  virtual bool uses_q_pre_rope() const { return false; }  // reads LayerTensors::q_pre_rope when the dump has it
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
  // Tokens per KV head that layer `layer` keeps when the item's budget is N:
  // N itself, except under a layer-budget allocator (pyramidkv, per_layer),
  // whose layers keep different amounts with the same total over the model,
  // or simlayerkv, which keeps everything in layers it finds not lazy (`x`).
  virtual int layer_budget(int budget, int layer, const LayerGeom& geom, const LayerTensors& x) const {
    return budget;
  }
  // Pooled selection: the tokens each KV head keeps of its own best before
  // the rest of the layer's budget is pooled (laprox floor(0.2 N); adakv
  // floor(alpha_safeguard N)).
  virtual int pooled_floor(int budget) const { return pooled_floor_per_head(budget); }
  // A policy that chooses its kept set itself from the step's scores (after
  // protections) instead of the engine's top-N: chunkkv keeps whole chunks.
  // Returns false to leave the selection to the engine.
  virtual bool selects_itself() const { return false; }
  virtual bool select_kept(const KeptSet& cand, const Scores& scores, int budget, KeptSet& out) const {
    return false;
  }
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
  // Finite decimal number in [lo, hi] ("0.2", "1", "2.5e-1"); otherwise UsageError naming "<policy>:<key>".
  double get_double(const std::string& key, double lo, double hi) const;
};

struct PolicyInfo {
  std::string name;
  std::string description;
  std::vector<ParamDef> params;
  std::function<std::unique_ptr<Policy>(const PolicyParams&)> make;  // validates values
  // An allocator wraps any scorer (kvpress's AdaKVPress(SnapKVPress()) is
  // `adakv(snapkv)`): `wrap` replaces `make`, and a bare name wraps
  // `default_inner` (kvpress's default; empty = an inner policy is required).
  std::function<std::unique_ptr<Policy>(const PolicyParams&, std::unique_ptr<Policy> inner)> wrap{};
  std::string default_inner{};
  bool in_all = true;  // part of --policies all (an allocator: around default_inner)
};

struct PolicySpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> given;  // as typed, in order
  PolicyParams params;                                      // resolved
  std::shared_ptr<const PolicySpec> inner;                  // the scorer an allocator wraps
  // "name", "name:k=v,k=v" (given parameters only); an allocator
  // "name(inner-label)" or "name(inner-label):k=v".
  std::string label() const;
};

const std::vector<PolicyInfo>& policy_registry();  // policies/registry.cpp
const PolicyInfo& find_policy(const std::string& name);  // UsageError listing valid names
std::string policy_names();                              // "full, random, ..."
// "snapkv:window=32,kernel=7", "adakv(snapkv:window=32):alpha_safeguard=0.3"
// -> validated spec (UsageError on unknown name/parameter/value, on an inner
// policy given to a scorer, or on an allocator around what it cannot wrap).
PolicySpec parse_policy_spec(const std::string& text);
// "all" or "a,b:k=v,k2=v2,c" (an item with '=' and no ':' continues the previous
// policy's parameters; ';' also separates policies; commas inside an
// allocator's parentheses belong to its inner policy).
std::vector<PolicySpec> parse_policy_list(const std::string& text);
std::unique_ptr<Policy> make_policy(const PolicySpec& spec);

}  // namespace kvsim
