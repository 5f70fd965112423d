// The base classes a plugin implements, one per node kind. The engine calls them; a plugin never
// sees the graph, the planner or the trainer.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ganglion/params.h"

namespace ganglion {

/// Tensors by port name: a node's inputs or outputs.
using TensorMap = std::map<std::string, torch::Tensor>;

/// What a network tells a layer it makes: the shapes the layer must map between. An upsampler
/// takes in_channels x in_size x in_size to out_channels x out_size x out_size.
struct LayerArgs {
  std::int64_t in_channels = 0, out_channels = 0;
  std::int64_t in_size = 0, out_size = 0;
};

/// What a node is told when it is made.
struct NodeSetup {
  /// The node's params, checked against its contract, defaults filled in.
  Params params;
  /// A seed derived from the graph's seed and the node's name: a node that keeps its own random
  /// state (shuffling, augmentation) seeds it from this, never from the clock.
  std::uint64_t seed = 0;
  /// This process's place in a multi-process run (sources shard by it).
  int rank = 0;
  int world_size = 1;
  /// The node's name in the graph (for messages).
  std::string name;
  /// Makes the layer that Layer param `param` names, for these shapes, as a module the caller
  /// registers (its parameters then belong to the caller). Set by the engine.
  std::function<torch::nn::AnyModule(const std::string& param, const LayerArgs& args)> make_layer;
};

/// What a node may ask while it runs.
class RunContext {
 public:
  virtual ~RunContext() = default;
  /// The device the graph runs on; sources move what they make there.
  virtual torch::Device device() const = 0;
  /// The engine's random generator (CPU): draws from it are reproducible and checkpointed.
  virtual at::Generator& generator() = 0;
  /// Training iteration, counted from 1.
  virtual std::int64_t step() const = 0;
  /// True while the engine evaluates nodes to write samples rather than to train.
  virtual bool sampling() const = 0;
};

/// A parameterised network. The graph owns one instance per module entry and several nodes may
/// apply it; its parameters and buffers are checkpointed with the torch::nn::Module machinery.
class NetModule : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  /// Computes every output port of the contract in one call.
  virtual TensorMap forward(const TensorMap& inputs) = 0;
};

/// An operation: loss, arithmetic, concat. May keep state (it then overrides state/restore).
class Function {
 public:
  virtual ~Function() = default;
  virtual TensorMap forward(const TensorMap& inputs, RunContext& context) = 0;
  /// The function's own state as text, for checkpoints ("" = stateless): an image pool, an
  /// adaptive augmentation probability.
  virtual std::string state() const { return {}; }
  /// Continues from a state returned by state().
  virtual void restore(const std::string& state) { (void)state; }
};

/// Something that draws samples: a dataset reader or a noise generator.
class Source {
 public:
  virtual ~Source() = default;
  /// Draws the next sample. `inputs` holds the connected input ports (for example `like`).
  virtual TensorMap next(const TensorMap& inputs, RunContext& context) = 0;
  /// True when next() may run ahead in a background thread: it ignores `inputs` and `context`
  /// (it must use its own random state, seeded from NodeSetup::seed) and returns CPU tensors.
  virtual bool prefetchable() const { return false; }
  /// The position after the last sample drawn, as text, for checkpoints ("" = stateless).
  virtual std::string position() const { return {}; }
  /// Continues from a position returned by position().
  virtual void seek(const std::string& position) { (void)position; }
};

/// Writes a tensor (samples, say) to a file whose path the engine chooses. The engine writes to a
/// temporary name and renames, so a writer never needs to.
class Writer {
 public:
  virtual ~Writer() = default;
  /// File name extension including the dot, e.g. ".png".
  virtual std::string extension() const = 0;
  virtual void write(const torch::Tensor& value, const std::string& path) = 0;
};

}  // namespace ganglion
