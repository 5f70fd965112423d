// Runs a planned graph: instantiates its modules and nodes, runs the phases of an iteration as the
// plan says (reusing values, freezing modules, setting gradients to none), and samples.
#pragma once

#include <ganglion/node.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ganglion/engine/graph.h"
#include "ganglion/engine/optimizers.h"
#include "ganglion/engine/planner.h"

namespace ganglion {

namespace run_parts {
struct BuiltGraph;
struct RunState;
class Sampler;
}  // namespace run_parts

/// A node failed while running: the message names the node and its type, `pointer` its entry in
/// the graph file (or the phase's), so the run's error can point at the line to fix.
class NodeFailure : public std::runtime_error {
 public:
  explicit NodeFailure(const std::string& message, std::string pointer = {})
      : std::runtime_error(message), pointer_(std::move(pointer)) {}
  const std::string& pointer() const { return pointer_; }

 private:
  std::string pointer_;
};

/// What one iteration did, for the log.
struct IterationRecord {
  /// Phase name -> loss of its last run, detached and left where it was computed: reading a value
  /// waits for the device, so a run reads them only when it logs, keeping the GPU's queue full.
  std::map<std::string, torch::Tensor> loss_values;
  std::int64_t samples = 0;  ///< data samples drawn (for images/s)

  /// The losses as numbers (waits for the device).
  std::map<std::string, double> losses() const;
};

/// This process's place in a run over several processes (the farm issue launches them).
struct Placement {
  int rank = 0;
  int world_size = 1;
};

class Executor {
 public:
  /// Makes every module, node and optimiser; throws UserError naming the node whose params or
  /// files its plugin rejected. Every node is told `placement`; data sources read their rank's
  /// shard, the engine's generator (noise) is seeded per rank, and initial weights are the same on
  /// every rank.
  Executor(const Graph& graph, const Plan& plan, torch::Device device, Placement placement = {});
  ~Executor();

  /// Runs every phase due at `step` (counted from 1).
  IterationRecord run_iteration(std::int64_t step);

  /// Evaluates `ref` for output without training: EMA weights where a module keeps them, modules
  /// in eval mode, no gradients, the same noise every time, data from the start of the data set.
  torch::Tensor sample(const PortRef& ref);
  /// Several outputs from one such evaluation (the same noise and data for all).
  __attribute__((visibility("default"))) std::vector<torch::Tensor> sample(const std::vector<PortRef>& refs);
  /// One step of a sequence: `refs` computed as draw `draw` computes them (its data batch, its
  /// noise), with each output named in `overrides` holding the tensor given in place of what its
  /// node computed, for every node that reads it. Throws NodeFailure when a tensor's shape is not
  /// the output's.
  __attribute__((visibility("default"))) std::vector<torch::Tensor> sample_step(
      const std::vector<PortRef>& refs, std::uint64_t draw,
      const std::vector<std::pair<PortRef, torch::Tensor>>& overrides);
  /// `count` rows of `ref`, computed as for samples, batch after batch, each batch with noise of its
  /// own and the next batch of data (from the data set's start): the large draws metrics score.
  torch::Tensor draw(const PortRef& ref, std::int64_t count);
  /// `count` rows of each of `refs`, from the same batches, so row i of each belongs together
  /// (a generated image and the class it was asked for).
  // Exported explicitly: GCC would otherwise hide a member whose signature names a std::vector of
  // an engine type instantiated under the shared precompiled header.
  __attribute__((visibility("default"))) std::vector<torch::Tensor> draw(const std::vector<PortRef>& refs,
                                                                         std::int64_t count);
  /// Runs function node `node` on `inputs` without gradients (metrics on a draw).
  TensorMap apply_function(int node, const TensorMap& inputs);
  /// Runs the module that node `node` applies on `inputs` as samples do (EMA shadow where kept,
  /// eval mode, no gradients, the sampling streams): a generator fed codes a tool chose (seeds,
  /// mixed or interpolated styles). The outputs are checked against the contract.
  TensorMap apply_module(int node, const TensorMap& inputs);
  /// The instance of module `module` that samples use (its EMA shadow, or the trained weights).
  NetModule& sampling_module(int module);

  void save(torch::serialize::OutputArchive& archive) const;
  /// Throws UserError when the archive does not fit this graph.
  void load(torch::serialize::InputArchive& archive, const std::string& file);

  /// The state of every stateful node (data positions, a function's own state), by node name.
  std::map<std::string, std::string> node_states() const;
  void restore_node_states(const std::map<std::string, std::string>& states);
  /// What each source built from its data (Source::derived(): a vocabulary), by node name.
  std::map<std::string, Source::Derived> derived() const;
  /// Hands a checkpoint's derived texts to the sources of the same names, and to the copies
  /// that sampling and evaluation make of them. Throws UserError naming a source that refuses.
  void adopt_derived(const std::map<std::string, std::string>& texts);

  const std::vector<std::shared_ptr<NetModule>>& modules() const;
  /// EMA shadows by module index (null where a module keeps none).
  const std::vector<std::shared_ptr<NetModule>>& ema_modules() const;
  /// The optimiser of Graph::optimizers entry `entry`.
  const torch::optim::Optimizer& optimizer(int entry) const;
  /// Rows of data drawn so far in the run (checkpointed): what StyleGAN2 counts as images seen.
  std::int64_t images_seen() const;
  /// The stage a growing module has reached (0 before it grows).
  std::int64_t module_stage(int module) const;
  /// How many optimiser steps a module has taken.
  std::int64_t module_version(int module) const;
  torch::Device device() const;

  /// Whether samples, draws and metrics use a module's EMA shadow where it keeps one (the
  /// default) or the trained weights themselves.
  void set_sample_with_ema(bool ema);

  /// The iteration the run ends at (default: the graph's "steps"): where a linear learning-rate
  /// decay without an explicit end arrives.
  void set_last_step(std::int64_t step) { last_step_ = step; }

  /// Called in each phase between its backward pass and its optimiser step, with the parameters
  /// that phase steps (their gradients set): where a run over several processes averages them.
  using GradientHook =
      std::function<void(const PhaseSpec& phase, const std::vector<torch::Tensor>& parameters)>;
  void set_gradient_hook(GradientHook hook) { gradient_hook_ = std::move(hook); }

  /// Called with each node's outputs as it computes them (not for reused values): for checks,
  /// debugging and benchmarks that need to see what the graph drew or produced.
  using ValueObserver = std::function<void(const std::string& node, const TensorMap& outputs)>;
  void set_value_observer(ValueObserver observer) { observer_ = std::move(observer); }

 private:
  void run_phase(const PhasePlan& pp, std::int64_t step, IterationRecord& record);
  /// Grows module `m` (and its EMA shadow) stage by stage up to `stage`, giving the new parameters
  /// to its optimisers and its shadow.
  void grow_to(int m, std::int64_t stage);
  /// Grows every module whose "grow" schedule has risen by iteration `step`.
  void grow_due(std::int64_t step);
  /// The plan of the phases due at `step`.
  const std::vector<PhasePlan>& phases_due(std::int64_t step);
  void update_ema(int module, std::int64_t step);
  std::vector<torch::Tensor> sample_draw(
      const std::vector<PortRef>& refs, std::uint64_t draw,
      const std::vector<std::pair<PortRef, torch::Tensor>>& overrides = {});

  const Graph& graph_;
  const Plan& plan_;
  // Taskflow's split: what is made once, what each iteration changes, and sampling apart.
  std::unique_ptr<run_parts::BuiltGraph> built_;
  std::unique_ptr<run_parts::RunState> state_;
  std::unique_ptr<run_parts::Sampler> sampler_;
  std::map<std::vector<char>, std::vector<PhasePlan>> iteration_plans_;  ///< by due phases
  ValueObserver observer_;
  GradientHook gradient_hook_;
  std::int64_t last_step_ = 0;
};

}  // namespace ganglion
