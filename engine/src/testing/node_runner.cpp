// The SDK's node runner (ganglion/node_runner.h): one node made and called as the executor makes
// and calls it, with the loader's checks of its entry and the executor's checks of its ports.
#include <ganglion/node_runner.h>
#include <ganglion/plugin.h>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "ganglion/engine/user_error.h"
#include "run/executor_parts.h"
#include "run/port_check.h"

namespace ganglion {

namespace {

/// What a node sees while the runner calls it: all of it set by the test.
class RunnerContext : public RunContext {
 public:
  RunnerContext(torch::Device device, std::uint64_t seed, const std::string& name, int rank, int world_size)
      : device_(device),
        seed_(seed),
        node_seed_(run_parts::node_seed(seed, name)),
        rank_(rank),
        world_size_(world_size),
        generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        node_generator_(at::make_generator<at::CPUGeneratorImpl>(node_seed_)) {}

  torch::Device device() const override { return device_; }
  at::Generator& generator() override { return sampling_ ? sample_generator() : generator_; }
  std::int64_t step() const override { return step_; }
  bool sampling() const override { return sampling_; }
  std::int64_t images_seen() const override { return images_seen_; }
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  double schedule(const std::string& name) const override {
    auto it = schedules_.find(name);
    if (it == schedules_.end()) return RunContext::schedule(name);
    return it->second;
  }
  at::Generator& node_generator() override {
    if (!sampling_) return node_generator_;
    if (!sample_node_generator_.defined())
      sample_node_generator_ =
          at::make_generator<at::CPUGeneratorImpl>(run_parts::sampling_seed(node_seed_, 0));
    return sample_node_generator_;
  }

  /// As the executor's sampling streams: apart from training's, the same at every sampling call.
  at::Generator& sample_generator() {
    if (!sample_generator_.defined())
      sample_generator_ = at::make_generator<at::CPUGeneratorImpl>(run_parts::sampling_seed(seed_, 0));
    return sample_generator_;
  }

  torch::Device device_;
  std::uint64_t seed_, node_seed_;
  int rank_, world_size_;
  std::int64_t step_ = 1, images_seen_ = 0;
  bool sampling_ = false;
  std::map<std::string, double> schedules_;
  at::Generator generator_, node_generator_, sample_generator_, sample_node_generator_;
};

[[noreturn]] void refuse(const std::string& message) { throw NodeRunnerError(message); }

/// The members of port groups that the entry's group params name (w.a names terms.a): connected, as
/// far as checking the entry before any input is fed goes.
std::vector<std::string> implied_members(const nlohmann::json& entry, const Contract& c) {
  std::vector<std::string> out;
  if (!entry.is_object() || !entry.contains("params") || !entry["params"].is_object()) return out;
  for (const auto& [key, value] : entry["params"].items()) {
    const ParamSpec* spec = c.find_param(key);
    if (spec && !spec->input_group.empty() && key.size() > spec->name.size() + 1)
      out.push_back(spec->input_group + key.substr(spec->name.size()));
  }
  return out;
}

}  // namespace

struct NodeRunner::Impl {
  Options options;
  PluginRegistry registry;
  nlohmann::json entry;
  const RegisteredType* type = nullptr;
  Params params;
  std::string label;  ///< "node \"node\" (type)"
  std::unique_ptr<run_parts::PortCheck> ports;
  std::unique_ptr<RunnerContext> context;
  TensorMap inputs;
  std::vector<std::string> made_with;  ///< the inputs the node was made with
  std::shared_ptr<NetModule> module;
  std::shared_ptr<Function> function;
  std::shared_ptr<Source> source;
  std::shared_ptr<Writer> writer;

  bool made() const { return module || function || source || writer; }

  /// Checks the entry for the given inputs: the loader's messages, as one error.
  Params check(const std::vector<std::string>& connected) const {
    try {
      return check_node_entry(entry, "node entry", registry, connected).params;
    } catch (const UserError& e) {
      refuse(e.what());
    }
  }

  void make() {
    if (made()) return;
    std::vector<std::string> connected;
    for (const auto& [port, t] : inputs) connected.push_back(port);
    params = check(connected);
    NodeSetup setup = run_parts::node_setup(options.seed, options.name, params,
                                            Placement{options.rank, options.world_size});
    setup.inputs = connected;
    try {
      switch (type->contract.kind()) {
        case NodeKind::Module:
          module = make_module(*type, setup);
          module->to(options.device);
          break;
        case NodeKind::Function:
          function = make_function(*type, setup);
          break;
        case NodeKind::Source:
          source = make_source(*type, setup);
          break;
        case NodeKind::Writer:
          writer = make_writer(*type, setup);
          break;
        default:
          refuse(label + " is a layer: a network makes it");
      }
    } catch (const NodeRunnerError&) {
      throw;
    } catch (const std::exception& e) {
      refuse(label + " rejected its params: " + run_parts::message_of(e));
    }
    made_with = connected;
  }

  /// Makes the node, which must be of `kind`.
  void make_as(NodeKind kind) {
    if (type->contract.kind() != kind)
      refuse(label + " is a " + to_string(type->contract.kind()) + ", not a " + to_string(kind));
    make();
  }

  /// Every required input fed, and a port group's fewest members.
  void check_fed() const {
    const Contract& c = type->contract;
    for (const auto& spec : c.inputs()) {
      if (spec.group) {
        const auto members = std::count_if(inputs.begin(), inputs.end(),
                                           [&](const auto& in) { return spec.accepts(in.first); });
        if (members < spec.min_count)
          refuse(label + ": input group \"" + spec.name + "\" needs at least " +
                 std::to_string(spec.min_count) + " members (" + spec.name + ".NAME), " +
                 std::to_string(members) + " fed");
      } else if (!spec.optional && !inputs.count(spec.name)) {
        refuse(label + ": required input \"" + spec.name + "\" (" + to_string(spec.dtype) + " \"" +
               spec.shape + "\") is not fed: call input(\"" + spec.name + "\", tensor) first");
      }
    }
  }
};

NodeRunner::NodeRunner(const std::string& entry, Options options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  std::vector<std::string> folders;
  if (m.options.builtin_plugins) folders = PluginRegistry::search_path({});
  for (const auto& p : m.options.plugins) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec))
      refuse("plugin " + p + " does not exist (Options::plugins names it)");
    folders.push_back(p);
  }
  try {
    m.registry.load(folders);
  } catch (const UserError& e) {
    refuse(e.what());
  }
  // The plugin under test must load: a skipped one is the test's failure, with the reason.
  for (const auto& skipped : m.registry.skipped())
    for (const auto& p : m.options.plugins) {
      std::error_code ec;
      const std::filesystem::path file(skipped.file);
      if (std::filesystem::equivalent(file, p, ec) || std::filesystem::equivalent(file.parent_path(), p, ec))
        refuse("plugin " + skipped.file + " could not be loaded: " + skipped.reason);
    }
  try {
    m.entry = nlohmann::json::parse(entry);
  } catch (const nlohmann::json::parse_error& e) {
    refuse("node entry: not valid JSON (" + std::string(e.what()) +
           "); expected {\"type\": ..., \"params\": {...}}");
  }
  // The type first (so the group params' inputs can be told apart), then every param.
  if (m.entry.is_object() && m.entry.contains("type") && m.entry["type"].is_string())
    m.type = m.registry.find(m.entry["type"].get<std::string>());
  std::vector<std::string> members;
  if (m.type) members = implied_members(m.entry, m.type->contract);
  try {
    const CheckedNodeEntry checked = check_node_entry(m.entry, "node entry", m.registry, members);
    m.type = checked.type;
    m.params = checked.params;
  } catch (const UserError& e) {
    refuse(e.what());
  }
  if (!m.type) refuse("node entry: names no node type");
  m.label = "node \"" + m.options.name + "\" (" + m.type->contract.type() + ")";
  m.ports = std::make_unique<run_parts::PortCheck>(m.type->contract, m.label, "");
  m.context = std::make_unique<RunnerContext>(m.options.device, m.options.seed, m.options.name,
                                              m.options.rank, m.options.world_size);
}

NodeRunner::~NodeRunner() = default;

const Contract& NodeRunner::contract() const { return impl_->type->contract; }
const Params& NodeRunner::params() const { return impl_->params; }

NodeRunner& NodeRunner::input(const std::string& port, torch::Tensor value) {
  Impl& m = *impl_;
  const Contract& c = m.type->contract;
  if (!c.find_input(port)) {
    std::vector<std::string> names;
    for (const auto& spec : c.inputs()) names.push_back(spec.group ? spec.name + ".NAME" : spec.name);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    refuse(m.label + " has no input \"" + port + "\"" + did_you_mean(port, names) +
           "; its inputs: " + (list.empty() ? "none" : list));
  }
  if (m.made() && std::find(m.made_with.begin(), m.made_with.end(), port) == m.made_with.end() &&
      m.type->contract.kind() != NodeKind::Module)
    refuse(m.label + " was made without input \"" + port +
           "\" (a node learns its connected inputs when it is made): feed every input before the first run");
  m.inputs[port] = std::move(value);
  return *this;
}

void NodeRunner::clear_inputs() { impl_->inputs.clear(); }

TensorMap NodeRunner::run() {
  Impl& m = *impl_;
  const NodeKind kind = m.type->contract.kind();
  if (kind == NodeKind::Writer) refuse(m.label + " is a writer: call write(path) instead of run()");
  m.check_fed();
  m.make();
  TensorMap out;
  try {
    run_parts::PortCheck::Sizes sizes = m.ports->inputs(m.inputs);
    if (kind == NodeKind::Module)
      out = m.module->forward(m.inputs, *m.context);
    else if (kind == NodeKind::Function)
      out = m.function->forward(m.inputs, *m.context);
    else
      out = m.source->next(m.inputs, *m.context);
    m.ports->outputs(out, sizes);
  } catch (const NodeRunnerError&) {
    throw;
  } catch (const NodeFailure& e) {
    refuse(e.what());
  } catch (const std::exception& e) {
    refuse(m.label + " failed: " + run_parts::message_of(e));
  }
  return out;
}

std::string NodeRunner::write(const std::string& path_stem) {
  Impl& m = *impl_;
  if (m.type->contract.kind() != NodeKind::Writer)
    refuse(m.label + " is a " + to_string(m.type->contract.kind()) + ", not a writer: call run()");
  m.check_fed();
  m.make();
  std::string path;
  try {
    m.ports->inputs(m.inputs);
    path = path_stem + samples_extension(*m.writer);  // with its dot, as the trainer names files
    m.writer->write(m.inputs.begin()->second, path);
  } catch (const NodeFailure& e) {
    refuse(e.what());
  } catch (const std::exception& e) {
    refuse(m.label + " failed to write " + path + ": " + run_parts::message_of(e));
  }
  return path;
}

NodeRunner& NodeRunner::step(std::int64_t step) {
  impl_->context->step_ = step;
  return *this;
}
NodeRunner& NodeRunner::sampling(bool sampling) {
  impl_->context->sampling_ = sampling;
  return *this;
}
NodeRunner& NodeRunner::images_seen(std::int64_t images) {
  impl_->context->images_seen_ = images;
  return *this;
}
NodeRunner& NodeRunner::schedule(const std::string& name, double value) {
  impl_->context->schedules_[name] = value;
  return *this;
}
at::Generator& NodeRunner::generator() { return impl_->context->generator(); }
at::Generator& NodeRunner::node_generator() { return impl_->context->node_generator(); }

NetModule& NodeRunner::module() {
  impl_->make_as(NodeKind::Module);
  return *impl_->module;
}
Function& NodeRunner::function() {
  impl_->make_as(NodeKind::Function);
  return *impl_->function;
}
Source& NodeRunner::source() {
  impl_->make_as(NodeKind::Source);
  return *impl_->source;
}
Writer& NodeRunner::writer() {
  impl_->make_as(NodeKind::Writer);
  return *impl_->writer;
}

}  // namespace ganglion
