// Runs one node on its own, from the entry a graph file would hold for it, the way the engine runs
// it inside a graph: its params checked against its contract (the messages `ganglion validate`
// gives), its inputs and outputs held to the contract's dtypes, ranks and dimension names at every
// call, and a run context whose step, counts, schedules and random streams a test sets. For a
// plugin's own tests (MediaPipe's CalculatorRunner is the model):
//
//   ganglion::NodeRunner::Options options;
//   options.plugins = {PLUGIN_FILE};  // the built plugin, $<TARGET_FILE:...> from CMake
//   ganglion::NodeRunner runner(R"({"type": "template/negated-mean", "params": {"weight": 2}})", options);
//   runner.input("score", torch::rand({8}));
//   torch::Tensor loss = runner.run().at("loss");
//
// Link Ganglion::node_runner (find_package(Ganglion)); it is the engine's library, so the node is
// loaded from the plugin's built file exactly as `ganglion run` loads it.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ganglion/contract.h"
#include "ganglion/node.h"

namespace ganglion {

/// A node entry or a call the runner refuses: the message names the entry's JSON path, the port
/// and the sizes, as the engine's would.
class __attribute__((visibility("default"))) NodeRunnerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How a NodeRunner loads and places its node.
struct NodeRunnerOptions {
  /// Plugin files or folders to load (the plugin under test), after the built-in plugins and
  /// GANGLION_PLUGIN_PATH. A path that does not exist is an error.
  std::vector<std::string> plugins;
  /// Load the engine's built-in plugins too (the layers a network's params name live there).
  bool builtin_plugins = true;
  /// The graph's seed: the node's NodeSetup::seed and its generators derive from it and `name`.
  std::uint64_t seed = 0;
  /// The node's name (in messages and its seed).
  std::string name = "node";
  /// Where the node runs.
  torch::Device device = torch::kCPU;
  /// This process's place in a multi-process run.
  int rank = 0;
  int world_size = 1;
};

class __attribute__((visibility("default"))) NodeRunner {
 public:
  using Options = NodeRunnerOptions;

  /// `entry` is JSON text: {"type": "...", "params": {...}}. Loads the plugins and checks the
  /// entry; throws NodeRunnerError listing every problem.
  explicit NodeRunner(const std::string& entry, Options options = {});
  ~NodeRunner();
  NodeRunner(const NodeRunner&) = delete;
  NodeRunner& operator=(const NodeRunner&) = delete;

  const Contract& contract() const;
  /// The params the node is made with: the entry's, checked, with the defaults filled in.
  const Params& params() const;

  /// Feeds input `port` (a port group's member as GROUP.MEMBER) for the next run; it stays fed
  /// until fed again or cleared. Ports the contract does not declare are refused.
  NodeRunner& input(const std::string& port, torch::Tensor value);
  void clear_inputs();

  /// Makes the node if it is not made yet, from the ports fed so far (NodeSetup::inputs), then
  /// runs it once: forward() for a module or a function, next() for a source. The inputs are
  /// checked against the contract before, the outputs after (every output present, dtypes, ranks,
  /// one size per dimension name across all ports). A required input not fed, a failed check or
  /// an exception from the node throws NodeRunnerError naming the node and the port.
  TensorMap run();
  /// For a writer: checks the input fed against its contract and writes it to `path_stem` plus the
  /// writer's extension; returns the path written.
  std::string write(const std::string& path_stem);

  /// The run context of the next call: the iteration (default 1), whether the engine is sampling,
  /// the images seen, a schedule's value (a schedule not set is unknown, as in a graph without it).
  NodeRunner& step(std::int64_t step);
  NodeRunner& sampling(bool sampling);
  NodeRunner& images_seen(std::int64_t images);
  NodeRunner& schedule(const std::string& name, double value);
  /// The engine's generator and the node's own as the node sees them (reseed them to repeat).
  at::Generator& generator();
  at::Generator& node_generator();

  /// The node itself, made by the first run() (or now): for a module's parameters and grow(), a
  /// function's state, a source's position. Throws NodeRunnerError for the wrong kind.
  NetModule& module();
  Function& function();
  Source& source();
  Writer& writer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ganglion
