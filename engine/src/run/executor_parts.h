// The executor's insides, shared by its three files: executor.cpp (made once, then each
// iteration's phases), executor_sampling.cpp (samples, draws, metrics) and executor_state.cpp
// (checkpoints, node state, starting weights). Private to the engine.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/serialize.h>

#include <map>
#include <string>

#include "ganglion/engine/executor.h"

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

/// Loads module `m`'s starting weights from the checkpoint its "weights" entry names.
void load_weights(const ModuleEntry& m, torch::nn::Module& net, torch::Device device);

}  // namespace run_parts

using run_parts::describe;
using run_parts::message_of;
using run_parts::node_seed;
using run_parts::sampling_seed;

/// A node's outputs as computed, with what they depended on.
struct Executor::Value {
  TensorMap outputs;
  std::vector<std::int64_t> versions;  ///< of plan_.module_deps[node], when computed
  std::vector<int> tracked;            ///< modules that recorded gradients then
  std::int64_t phase_run = 0;
};

class Executor::Context : public RunContext {
 public:
  Context(const Executor& owner, torch::Device device, std::uint64_t seed)
      : owner_(owner),
        device_(device),
        generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        seed_(seed) {}
  torch::Device device() const override { return device_; }
  at::Generator& generator() override { return sampling_ ? sample_generator_ : generator_; }
  std::int64_t step() const override { return step_; }
  bool sampling() const override { return sampling_; }
  std::int64_t images_seen() const override { return owner_.images_seen_ + owner_.record_samples_; }
  int rank() const override { return owner_.placement_.rank; }
  int world_size() const override { return owner_.placement_.world_size; }
  double schedule(const std::string& name) const override {
    const int s = owner_.graph_.find_schedule(name);
    if (s < 0) return RunContext::schedule(name);
    return owner_.graph_.schedules[s].at(step_, images_seen());
  }
  at::Generator& node_generator() override { return node_ < 0 ? generator() : generator_of(node_); }

  /// Node `node`'s own generator in the current stream, made on first use: seeded from the node's
  /// seed (per rank), and while sampling from the draw as well.
  at::Generator& generator_of(int node) {
    auto& pool = sampling_ ? sample_node_generators_ : node_generators_;
    auto it = pool.find(node);
    if (it == pool.end()) {
      const std::uint64_t seed = node_seed(seed_, owner_.graph_.nodes[node].name);
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

  const Executor& owner_;
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

}  // namespace ganglion
