// A graph file after validation: every name resolved, every param checked and defaulted. Nothing
// here can be wrong any more; the planner and the trainer work from this.
#pragma once

#include <ganglion/contract.h>
#include <ganglion/params.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ganglion {

struct RegisteredType;

/// One output port of one node.
struct PortRef {
  int node = -1;
  std::string port;
  bool operator==(const PortRef& o) const { return node == o.node && port == o.port; }
};

/// Exponential moving average of a module's weights, used for samples.
struct EmaSpec {
  bool enabled = false;
  double beta = 0.999;
  /// Ramp-up length in steps (0: none): the effective beta at step t is
  /// min(beta, (1 + t) / (1 + t + rampup)).
  std::int64_t rampup = 0;
};

/// Where a module's starting weights come from instead of its initialisation: a module of a
/// trained run (a classifier whose features a metric scores, a generator to fine-tune).
struct WeightsSpec {
  std::string from;    ///< a run directory (its latest checkpoint) or a checkpoint file; "" = none
  std::string module;  ///< the module's name in that checkpoint
};

struct ModuleEntry {
  std::string name;
  const RegisteredType* type = nullptr;
  Params params;
  EmaSpec ema;
  WeightsSpec weights;
  std::string pointer;  ///< JSON pointer of its entry, for messages
};

/// When a source draws a new sample.
enum class DrawPolicy {
  PerIteration,  ///< once per iteration, shared by every phase (DCGAN's real batch and z)
  PerPhase,      ///< at every phase run, repetitions included (WGAN-GP's critic steps)
};

struct NodeEntry {
  std::string name;
  const RegisteredType* type = nullptr;  ///< the node's type, or the applied module's type
  int module = -1;                       ///< index into Graph::modules when the node applies one
  Params params;
  std::map<std::string, PortRef> inputs;
  DrawPolicy draw = DrawPolicy::PerIteration;
  std::string pointer;

  const Contract& contract() const;
  NodeKind kind() const { return contract().kind(); }
  /// A function node of the metrics/ family: what evaluations run when none are named.
  bool is_metric() const;
};

struct OptimizerSpec {
  std::string type = "adam";  ///< adam, sgd, rmsprop
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;  ///< adam
  double momentum = 0.0;              ///< sgd, rmsprop
  double alpha = 0.99;                ///< rmsprop smoothing
  double eps = 1e-8;
  double weight_decay = 0.0;
  /// Learning-rate schedule, a pure function of the iteration (so resuming needs no state):
  /// constant; linear from 1 after iteration `start` to `to` at iteration `end` (0: the run's last
  /// iteration); or step, times `gamma` after every `every` iterations (as PyTorch's StepLR).
  std::string schedule = "constant";
  std::int64_t start = 0, end = 0, every = 0;
  double to = 0.0, gamma = 0.1;

  /// The factor on `lr` at iteration `step` (counted from 1) of a run that ends at `last_step`.
  double lr_factor(std::int64_t step, std::int64_t last_step) const;
};

/// A module a phase updates, with the optimiser settings for it.
struct UpdateEntry {
  int module = -1;
  OptimizerSpec optimizer;
};

struct PhaseSpec {
  std::string name;
  PortRef minimize;
  std::vector<UpdateEntry> update;
  std::int64_t every = 1;   ///< runs on iterations where (iteration - from) % every == 0
  std::int64_t repeat = 1;  ///< runs this many times in a row when it runs
  std::int64_t from = 1;    ///< first iteration it runs at
  std::string pointer;

  bool updates(int module) const;
};

struct SamplesSpec {
  bool enabled = false;
  PortRef from;
  const RegisteredType* writer = nullptr;
  Params writer_params;
  std::int64_t every = 500;
};

/// outputs.eval: metrics on a draw of samples every N iterations, into log.jsonl.
struct EvalSpec {
  bool enabled = false;
  std::int64_t every = 1000;
  std::int64_t samples = 2500;       ///< rows drawn for each metric input
  std::vector<std::string> metrics;  ///< node names; empty = every metrics/ node
};

struct OutputsSpec {
  SamplesSpec samples;
  EvalSpec eval;
  std::int64_t checkpoint_every = 1000;
  std::int64_t keep_checkpoints = 3;
  std::int64_t log_every = 10;
};

struct Graph {
  std::string file;
  std::string name;
  std::uint64_t seed = 1;
  std::int64_t steps = 1000;  ///< iterations a run does unless --steps says otherwise
  std::vector<ModuleEntry> modules;
  std::vector<NodeEntry> nodes;
  std::vector<PhaseSpec> phases;
  OutputsSpec outputs;
  /// The document after --set overrides: what the run directory records as the resolved graph.
  nlohmann::json document;

  int find_node(const std::string& name) const;
  int find_module(const std::string& name) const;
  /// "batch.image", or "fake" when the node has one output.
  std::string port_name(const PortRef& ref) const;
};

}  // namespace ganglion
