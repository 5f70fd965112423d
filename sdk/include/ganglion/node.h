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
#include <stdexcept>
#include <string>
#include <vector>

#include "ganglion/params.h"

namespace ganglion {

/// Tensors by port name: a node's inputs or outputs.
using TensorMap = std::map<std::string, torch::Tensor>;

/// What a network tells a layer it makes: the shapes the layer must map between. An upsampler
/// takes in_channels x in_height x in_width to out_channels x out_height x out_width. Square maps
/// may give only in_size and out_size; a 1-D signal [B, C, T] gives its length as the width, with
/// height 1. Read the sizes through in_h() and the others, which fall back to the square size.
struct LayerArgs {
  std::int64_t in_channels = 0, out_channels = 0;
  std::int64_t in_size = 0, out_size = 0;
  std::int64_t in_height = 0, in_width = 0, out_height = 0, out_width = 0;

  std::int64_t in_h() const { return in_height ? in_height : in_size; }
  std::int64_t in_w() const { return in_width ? in_width : in_size; }
  std::int64_t out_h() const { return out_height ? out_height : out_size; }
  std::int64_t out_w() const { return out_width ? out_width : out_size; }
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
  /// The input ports the graph connects, by name (a port group's members as GROUP.MEMBER), sorted:
  /// a node with a port group reads its members here when it is made. A module, made once for
  /// every node that applies it, gets the ports any of those nodes connects.
  std::vector<std::string> inputs;
  /// Makes the layer that Layer param `param` names, for these shapes, as a module the caller
  /// registers (its parameters then belong to the caller). Set by the engine.
  std::function<torch::nn::AnyModule(const std::string& param, const LayerArgs& args)> make_layer;
};

/// What a node may ask while it runs. The engine passes one to every call; it is valid only for
/// that call (do not keep it).
class RunContext {
 public:
  virtual ~RunContext() = default;
  /// The device the graph runs on; sources move what they make there.
  virtual torch::Device device() const = 0;
  /// The engine's random generator (CPU), one stream the graph's noise sources share: draws from it
  /// are reproducible and checkpointed. While sampling it is a separate stream, the same for every
  /// sample grid.
  virtual at::Generator& generator() = 0;
  /// Training iteration, counted from 1.
  virtual std::int64_t step() const = 0;
  /// True while the engine evaluates nodes to write samples rather than to train.
  virtual bool sampling() const = 0;
  /// Rows of data drawn in the run so far, this iteration's included (StyleGAN2's images seen).
  virtual std::int64_t images_seen() const { return 0; }
  /// This process's place in a run over several processes.
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  /// The value now of the graph's schedule `name` (see a `param_schedule` param); throws
  /// std::out_of_range when the graph declares no such schedule.
  virtual double schedule(const std::string& name) const {
    throw std::out_of_range("the graph declares no schedule \"" + name + "\"");
  }
  /// This node's own generator (CPU), for randomness inside a module or function (dropout masks,
  /// style-mixing choices): seeded from the node's seed, checkpointed, and while sampling a
  /// separate stream reseeded for every sample grid, so grids and resumed runs repeat.
  virtual at::Generator& node_generator() { return generator(); }
};

/// A parameterised network. The graph owns one instance per module entry and several nodes may
/// apply it; its parameters and buffers are checkpointed with the torch::nn::Module machinery.
///
/// Lifecycle: made once per run (and once more for an EMA shadow) from the module's params, moved to
/// the device, then forward() is called once per node that applies it, in each phase that needs that
/// node (again for each repetition of a repeated phase), and while sampling and evaluating (in eval
/// mode, without gradients, on the EMA shadow where the module keeps one). Calls come from one
/// thread, never concurrently.
class NetModule : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  /// Computes every output port of the contract in one call. Override this form to read the run
  /// context (iteration, images seen, schedules, the node's own generator); the engine calls it.
  virtual TensorMap forward(const TensorMap& inputs, RunContext& context) {
    (void)context;
    return forward(inputs);
  }
  /// The context-free form, which most networks override instead.
  virtual TensorMap forward(const TensorMap& inputs) {
    (void)inputs;
    throw std::logic_error("the module overrides neither forward(inputs) nor forward(inputs, context)");
  }
  /// Parts of the network that learn at a multiple of its optimiser's learning rate (StyleGAN's
  /// mapping network at 0.01x): each parameter whose name starts with `prefix` ("mapping.") joins a
  /// param group of its own with lr times `multiplier` (the first matching prefix wins). Asked
  /// once, after the module is made, and again after it grows.
  struct LearningRateMultiplier {
    std::string prefix;
    double multiplier = 1.0;
  };
  virtual std::vector<LearningRateMultiplier> learning_rate_multipliers() const { return {}; }
  /// A network that grows (a progressive GAN): when the schedule its module entry names in
  /// "grow" reaches the whole number `stage`, the engine calls grow(1), grow(2), ... up to it, on
  /// the module and on its EMA shadow. grow() registers and initialises the new layers; the engine
  /// then gives their parameters fresh optimiser state, copies them into the shadow, and records
  /// the stage in checkpoints (a resumed run grows to it before loading the weights).
  virtual void grow(std::int64_t stage) {
    throw std::logic_error("this module cannot grow (to stage " + std::to_string(stage) + ")");
  }
};

/// An operation: loss, arithmetic, concat. May keep state (it then overrides state/restore, or
/// the tensor form).
///
/// Lifecycle: made once per run; forward() is called in each phase that needs the node (again per
/// repetition), and while sampling and evaluating (without gradients); from one thread.
class Function {
 public:
  virtual ~Function() = default;
  virtual TensorMap forward(const TensorMap& inputs, RunContext& context) = 0;
  /// The function's own state as text, for checkpoints ("" = stateless): an adaptive augmentation
  /// probability.
  virtual std::string state() const { return {}; }
  /// Continues from a state returned by state().
  virtual void restore(const std::string& state) { (void)state; }
  /// State that is tensors (an image pool's images), by name, for checkpoints ({} = none).
  virtual TensorMap state_tensors() const { return {}; }
  /// Continues from what state_tensors() returned (on the run's device).
  virtual void restore_tensors(const TensorMap& state) { (void)state; }
};

/// Something that draws samples: a dataset reader or a noise generator.
///
/// Lifecycle: made once per run (and again, as a fresh copy, for sampling and evaluation, which
/// read a data set from its start without moving training's position); next() is called once per
/// iteration, or once per phase run for a source drawn "per-phase". A prefetchable source's next()
/// runs on a background thread of its own, never concurrently with itself.
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

  /// What the source built from its data when it was made and the run must keep unchanged (a
  /// tokenizer's vocabulary): a file name and its text ("" = nothing). The engine writes it into
  /// the run directory as NODE.FILE_NAME, keeps it in every checkpoint, and hands it back through
  /// adopt() to a resumed run and to the copies that sampling and evaluation make, so that all of
  /// them read the data alike even where the data set changed since the run began.
  struct Derived {
    std::string file_name;
    std::string text;
  };
  virtual Derived derived() const { return {}; }
  /// Takes over what derived() returned in the run being continued; throws std::invalid_argument
  /// when it does not fit the source's params.
  virtual void adopt(const std::string& text) { (void)text; }
};

/// Writes a tensor (samples, say) to a file whose path the engine chooses. The engine writes to a
/// temporary name and renames, so a writer never needs to. Its contract's one input is what it
/// accepts; see docs/writing-a-plugin.md, "Writers".
class Writer {
 public:
  virtual ~Writer() = default;
  /// File name extension including the dot, e.g. ".png" (a missing dot is added).
  virtual std::string extension() const = 0;
  virtual void write(const torch::Tensor& value, const std::string& path) = 0;
};

}  // namespace ganglion
