// The executor's insides, in three parts after Taskflow's Taskflow / Topology / Executor split:
//   BuiltGraph (built_graph.cpp)   what is made once: modules, EMA shadows, nodes, optimisers;
//   RunState                       what each iteration changes: module versions and stages, the
//                                  values computed, the random streams, the counts;
//   Sampler (executor_sampling.cpp) samples, draws and metrics, apart from training's state;
// with the Executor (executor.cpp) running an iteration's phases over them, and the checkpoint I/O
// (executor_state.cpp) reading and writing what the first two hold. Private to the engine.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/serialize.h>

#include <map>
#include <set>
#include <string>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/optimizers.h"
#include "ganglion/engine/prefetcher.h"
#include "run/port_check.h"

namespace ganglion {
namespace run_parts {

/// A seed per node from the graph's seed and the node's name (FNV-1a), so that renaming one node
/// does not reshuffle every other.
inline std::uint64_t node_seed(std::uint64_t graph_seed, const std::string& name) {
  std::uint64_t h = 1469598103934665603ull ^ graph_seed;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// The seed of a sampling stream: draw 0 for sample grids, draw k for an evaluation's k-th batch,
/// apart from the training stream seeded by `seed`.
inline std::uint64_t sampling_seed(std::uint64_t seed, std::uint64_t draw) {
  return seed ^ 0x5A4D504C45ull ^ (draw * 0x9E3779B97F4A7C15ull);
}

inline std::string describe(const NodeEntry& n) {
  return "node \"" + n.name + "\" (" + n.contract().type() + ")";
}

/// The message of an exception from LibTorch or a plugin, without LibTorch's C++ backtrace.
inline std::string message_of(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

inline bool dtype_matches(DType want, const torch::Tensor& t) {
  switch (want) {
    case DType::Float:
      return t.is_floating_point();
    case DType::Long:
      return !t.is_floating_point() && !t.is_complex() && t.scalar_type() != torch::kBool;
    case DType::Bool:
      return t.scalar_type() == torch::kBool;
    default:
      return true;
  }
}

/// What a node or module named `name` is made with in a graph seeded `graph_seed`: its params,
/// its own seed (the same on every rank: a data set's shuffle must agree across the ranks that
/// shard it) and its place in the run.
inline NodeSetup node_setup(std::uint64_t graph_seed, const std::string& name, const Params& params,
                            Placement placement) {
  NodeSetup s;
  s.params = params;
  s.seed = node_seed(graph_seed, name);
  s.rank = placement.rank;
  s.world_size = placement.world_size;
  s.name = name;
  return s;
}

/// Loads module `m`'s starting weights from the checkpoint its "weights" entry names.
void load_weights(const ModuleEntry& m, torch::nn::Module& net, torch::Device device);

/// What is made once for a run from the graph and its plan, and changes only when a module grows.
struct BuiltGraph {
  /// Makes every module (and EMA shadow), node and optimiser; throws UserError naming each entry
  /// whose params or files its plugin rejected.
  BuiltGraph(const Graph& graph, const Plan& plan, torch::Device device, Placement placement);
  ~BuiltGraph();

  /// What a node or module named `name` is made with: its params and its own seed.
  NodeSetup setup_for(const std::string& name, const Params& params) const;
  /// For a node: also the inputs the graph connects.
  NodeSetup setup_for(const NodeEntry& node) const;
  /// For module `module`: also the inputs that the nodes applying it connect, together.
  NodeSetup setup_for(int module) const;
  /// A fresh copy of source node `node`, for sampling and evaluation: made from its params, with
  /// what the training source adopted from a checkpoint.
  std::shared_ptr<Source> copy_source(int node) const;

  /// (shadow, trained) tensors of a module's EMA, matched by name.
  struct EmaPairs {
    std::vector<std::pair<torch::Tensor, torch::Tensor>> parameters, buffers;
  };
  /// Paired once, and again after the module grows (forget_ema_pairs).
  const EmaPairs& ema_pairs(int module);
  void forget_ema_pairs(int module) { ema_pairs_.erase(module); }

  const Graph& graph;
  const Plan& plan;
  const torch::Device device;
  const Placement placement;
  std::vector<std::shared_ptr<NetModule>> modules, ema;  ///< by module; ema null where none is kept
  std::vector<std::vector<torch::Tensor>> trainable;     ///< parameters that started requiring grad
  std::vector<std::shared_ptr<Function>> functions;      ///< by node, where a function
  std::vector<std::shared_ptr<Source>> sources;          ///< by node, where a source
  std::vector<std::unique_ptr<Prefetcher>> prefetchers;  ///< by node, where a source runs ahead
  std::vector<std::string> adopted;  ///< by node: what a source took from a checkpoint (adopt())
  std::vector<PortCheck> ports;                          ///< by node
  std::vector<BuiltOptimizer> optimizers;                ///< one per Graph::optimizers entry
  std::vector<char> per_phase;                           ///< by node: depends on a source drawn per phase
  std::vector<std::set<std::string>>
      read_next_iteration;  ///< by node: the ports previous-iteration inputs read

 private:
  std::map<int, EmaPairs> ema_pairs_;
};

/// A node's outputs as computed, with what they depended on.
struct Value {
  TensorMap outputs;
  std::vector<std::int64_t> versions;  ///< of plan.module_deps[node], when computed
  std::vector<int> tracked;            ///< modules that recorded gradients then
  std::int64_t phase_run = 0;
};

struct RunState;

/// The RunContext every node call gets: the iteration, the counts, the schedules and the random
/// streams (training's and sampling's, the engine's and each node's own).
class Context : public RunContext {
 public:
  Context(const Graph& graph, const RunState& state, Placement placement, torch::Device device,
          std::uint64_t seed)
      : graph_(graph),
        state_(state),
        placement_(placement),
        device_(device),
        generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        seed_(seed) {}
  torch::Device device() const override { return device_; }
  at::Generator& generator() override { return sampling_ ? sample_generator_ : generator_; }
  std::int64_t step() const override { return step_; }
  bool sampling() const override { return sampling_; }
  std::int64_t images_seen() const override;
  int rank() const override { return placement_.rank; }
  int world_size() const override { return placement_.world_size; }
  double schedule(const std::string& name) const override {
    const int s = graph_.find_schedule(name);
    if (s < 0) return RunContext::schedule(name);
    return graph_.schedules[s].at(step_, images_seen());
  }
  at::Generator& node_generator() override { return node_ < 0 ? generator() : generator_of(node_); }

  /// Node `node`'s own generator in the current stream, made on first use: seeded from the node's
  /// seed (per rank), and while sampling from the draw as well.
  at::Generator& generator_of(int node) {
    auto& pool = sampling_ ? sample_node_generators_ : node_generators_;
    auto it = pool.find(node);
    if (it == pool.end()) {
      const std::uint64_t seed = node_seed(seed_, graph_.nodes[node].name);
      it = pool.emplace(node, at::make_generator<at::CPUGeneratorImpl>(sampling_ ? sampling_seed(seed, draw_)
                                                                                 : seed))
               .first;
    }
    return it->second;
  }

  /// While it lives, node_generator() gives node `node`'s generator.
  struct Computing {
    Computing(Context& ctx, int node) : ctx_(ctx) { ctx_.node_ = node; }
    ~Computing() { ctx_.node_ = -1; }
    Context& ctx_;
  };

  /// Sampling draws the same noise every time, so successive sample grids are comparable; draw k
  /// of an evaluation gets noise of its own.
  void begin_sampling(std::uint64_t draw = 0) {
    sampling_ = true;
    draw_ = draw;
    sample_generator_ = at::make_generator<at::CPUGeneratorImpl>(sampling_seed(seed_, draw));
    sample_node_generators_.clear();
  }
  void end_sampling() { sampling_ = false; }

  const Graph& graph_;
  const RunState& state_;
  const Placement placement_;
  torch::Device device_;
  at::Generator generator_;
  at::Generator sample_generator_;
  std::uint64_t seed_;
  std::int64_t step_ = 0;
  std::uint64_t draw_ = 0;  ///< 0: samples; k >= 1: the k-th batch of an evaluation's draw
  bool sampling_ = false;
  int node_ = -1;  ///< the node being computed: whose node_generator() a call gets
  std::map<int, at::Generator> node_generators_, sample_node_generators_;
};

/// What each iteration changes, and a checkpoint keeps.
struct RunState {
  RunState(const BuiltGraph& built, std::uint64_t engine_seed);

  /// Whether `v`, computed earlier, may stand for node `node` in phase plan `pp`: no module it
  /// depends on has stepped since, it recorded gradients for every module `pp` updates, and it was
  /// drawn in this phase run where the node depends on a per-phase source.
  bool valid(const Value& v, int node, const PhasePlan& pp) const;
  /// Stamps `v` with the versions and tracking of node `node`'s modules now.
  void stamp(Value& v, int node) const;
  /// Makes exactly the modules in `tracked` record gradients (the others' parameters stop).
  void set_tracking(const std::vector<int>& tracked);

  const BuiltGraph& built;
  std::vector<std::int64_t> module_version;  ///< optimiser steps taken, by module
  std::vector<std::int64_t> stage;           ///< growth stage reached, by module
  std::vector<char> tracking;                ///< by module: records gradients (2: unknown)
  std::int64_t record_samples = 0;           ///< data rows drawn this iteration
  std::int64_t images_seen = 0;              ///< data rows drawn in the run before this iteration
  std::int64_t phase_run = 0;                ///< phase runs so far (a per-phase draw's stamp)
  std::map<int, Value> values;               ///< this iteration's values, by node
  /// Outputs of the nodes that previous-iteration inputs read, detached: `latest` as this iteration
  /// computed them, `previous` as the last earlier iteration that computed them left them
  /// (checkpointed).
  std::map<int, TensorMap> latest, previous;
  Context context;
};

inline std::int64_t Context::images_seen() const { return state_.images_seen + state_.record_samples; }

/// Sampling: its own copies of the data sources (training's position stays), and the choice of
/// EMA shadow or trained weights.
class Sampler {
 public:
  explicit Sampler(BuiltGraph& built) : built_(built) {}
  /// The instance of module `m` that samples use.
  std::shared_ptr<NetModule>& module(int m) {
    return with_ema && built_.ema[m] ? built_.ema[m] : built_.modules[m];
  }
  /// Source node `node`'s batch for draw `draw` (0: the data set's first batch, always the same;
  /// k: its k-th batch, from a fresh copy read from the start at k = 1).
  TensorMap batch(int node, Context& ctx);
  /// Puts every sampling module in eval mode (begin) or back in training mode (end).
  void set_eval(bool eval);

  bool with_ema = true;

 private:
  BuiltGraph& built_;
  std::vector<std::shared_ptr<Source>> sources_;  ///< fresh copies, by node
  std::vector<TensorMap> first_batches_;          ///< draw 0's batch, by node
};

/// Computes node `node` into `state.values` (training) or `values` (sampling with `sampler`):
/// its inputs read from there, checked with its outputs against the contract, failures named.
void compute(BuiltGraph& built, RunState& state, int node, std::map<int, Value>& values, Sampler* sampler,
             const Executor::ValueObserver& observer);

}  // namespace run_parts

using run_parts::describe;
using run_parts::message_of;
using run_parts::node_seed;
using run_parts::sampling_seed;

}  // namespace ganglion
