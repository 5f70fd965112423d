// Helpers shared by the test suites: running the CLI, writing temporary graphs, the registry.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <ganglion/plugin.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ganglion {
class PluginRegistry;
struct RegisteredType;
}  // namespace ganglion

namespace ganglion::test {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

/// The message of what `f` throws ("" when it throws nothing).
std::string error_of(const std::function<void()>& f);

/// Whether `part` occurs in `text` (an error message, a command's output).
bool contains(const std::string& text, const std::string& part);

/// The bytes of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

/// Width and height from a PNG file's header ({0, 0} when it is not a PNG).
std::pair<int, int> png_size(const std::string& path);

/// The context a node gets when a test calls it directly: CPU, a seeded generator, step 1.
struct TestContext : RunContext {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  torch::Device device() const override { return torch::kCPU; }
  at::Generator& generator() override { return gen; }
  std::int64_t step() const override { return 1; }
  bool sampling() const override { return false; }
};

/// Runs the `ganglion` executable with `args` (each shell-quoted here) and captures its output.
CliResult run_cli(const std::vector<std::string>& args);

/// A fresh empty folder under the system's temporary folder.
std::string temp_dir(const std::string& name);

/// Writes `text` to a file in a temporary folder and returns its path.
std::string write_temp(const std::string& name, const std::string& text);

/// The registry with the built-in plugins (and the given extra folders).
const PluginRegistry& builtin_registry();

/// A built-in type by name; fails the test (naming it) when no loaded plugin has it.
const RegisteredType& registered(const std::string& type);

/// What a node of `type` is made with when a graph sets only `params`: the contract's defaults
/// with `params` on top, and `seed`.
NodeSetup node_setup(const std::string& type, const std::map<std::string, ParamValue>& params = {},
                     std::uint64_t seed = 0);

/// graphs/dcgan-mnist.json, parsed.
nlohmann::json dcgan_graph();

/// graphs/NAME.json, parsed.
nlohmann::json shipped_graph(const std::string& name);

/// A shipped StyleGAN2 graph made small enough to train in seconds: 16x16 images (the data
/// source's size too), 16 feature maps at most, batches of 8 (4 for path length), no $schema.
nlohmann::json small_stylegan2(const std::string& name);
/// A StyleGAN2 graph with DiffAugment whose three augment nodes take their probability from ADA's
/// node "ada" (interval 1, p moving by batch/adjust_images an iteration), which reads D's real
/// scores from the previous iteration; the log names p and r_t.
nlohmann::json with_ada(nlohmann::json graph, double adjust_images);

/// The DCGAN graph cut down for tests: `limit` MNIST images, logging every step, no samples.
nlohmann::json small_dcgan_graph(int limit, int batch);

/// Whether the MNIST cache exists (scripts/fetch-data.sh fills it).
bool mnist_available();

/// The "losses" of each line of a run's log.jsonl, by step.
std::vector<nlohmann::json> read_log(const std::string& run_dir);

}  // namespace ganglion::test
