// What a run makes once: every module (and its EMA shadow), node, port check and optimiser.
#include <ganglion/plugin.h>

#include <set>

#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "run/executor_parts.h"

namespace ganglion::run_parts {

BuiltGraph::BuiltGraph(const Graph& graph_, const Plan& plan_, torch::Device device_, Placement placement_)
    : graph(graph_), plan(plan_), device(device_), placement(placement_) {
  torch::manual_seed(graph.seed);  // for anything a plugin draws from torch's default generator
  Diagnostics diags(graph.file);
  for (size_t index = 0; index < graph.modules.size(); ++index) {
    const ModuleEntry& m = graph.modules[index];
    try {
      auto net = make_module(*m.type, setup_for(static_cast<int>(index)));
      net->to(device);
      if (!m.weights.from.empty()) load_weights(m, *net, device);
      std::shared_ptr<NetModule> shadow;
      if (m.ema.enabled) {
        // A second instance from the same params, holding the average; never trained directly.
        shadow = make_module(*m.type, setup_for(static_cast<int>(index)));
        shadow->to(device);
        torch::NoGradGuard no_grad;
        auto src = net->named_parameters(), dst = shadow->named_parameters();
        for (auto& p : dst) p.value().copy_(src[p.key()]).requires_grad_(false);
        auto sb = net->named_buffers();
        for (auto& b : shadow->named_buffers()) b.value().copy_(sb[b.key()]);
      }
      modules.push_back(net);
      ema.push_back(shadow);
    } catch (const UserError&) {
      throw;
    } catch (const std::exception& e) {
      diags.error(m.pointer, m.type->contract.type() + " rejected its params: " + message_of(e));
      modules.push_back(nullptr);
      ema.push_back(nullptr);
    }
  }
  // Parameters a plugin froze itself (a fixed feature extractor, say) stay frozen in every phase.
  for (const auto& net : modules) {
    trainable.emplace_back();
    if (net)
      for (auto& p : net->parameters())
        if (p.requires_grad()) trainable.back().push_back(p);
  }
  const size_t n = graph.nodes.size();
  functions.resize(n);
  sources.resize(n);
  adopted.resize(n);
  per_phase.assign(n, 0);
  read_next_iteration.assign(n, {});
  for (const auto& node : graph.nodes)
    for (const auto& [port, ref] : node.previous_inputs) read_next_iteration[ref.node].insert(ref.port);
  for (size_t i = 0; i < n; ++i) prefetchers.emplace_back();
  for (size_t i = 0; i < n; ++i) {
    const NodeEntry& node = graph.nodes[i];
    ports.emplace_back(node.contract(), describe(node), node.pointer);
    try {
      if (node.kind() == NodeKind::Function) functions[i] = make_function(*node.type, setup_for(node));
      if (node.kind() == NodeKind::Source) {
        sources[i] = make_source(*node.type, setup_for(node));
        if (sources[i]->prefetchable()) prefetchers[i] = std::make_unique<Prefetcher>(sources[i], node.name);
      }
    } catch (const std::exception& e) {
      diags.error(node.pointer, node.contract().type() + " rejected its params: " + message_of(e));
    }
  }
  for (int v : plan.order) {
    const NodeEntry& node = graph.nodes[v];
    per_phase[v] = node.kind() == NodeKind::Source && node.draw == DrawPolicy::PerPhase;
    for (const auto& [port, ref] : node.inputs) per_phase[v] |= per_phase[ref.node];
  }
  if (diags.empty()) {
    ModuleMultipliers multipliers;
    for (const auto& net : modules) multipliers.push_back(net->learning_rate_multipliers());
    for (const auto& entry : graph.optimizers) {
      try {
        optimizers.push_back(make_optimizer(entry, modules, multipliers));
      } catch (const std::exception& e) {
        diags.error(entry.pointer, message_of(e));
        optimizers.emplace_back();
      }
    }
  }
  diags.throw_if_any();
}

BuiltGraph::~BuiltGraph() = default;

NodeSetup BuiltGraph::setup_for(const std::string& name, const Params& params) const {
  return node_setup(graph.seed, name, params, placement);
}

NodeSetup BuiltGraph::setup_for(int module) const {
  const ModuleEntry& m = graph.modules[module];
  NodeSetup s = setup_for(m.name, m.params);
  // Made once for every node that applies it: the ports any of them connects.
  std::set<std::string> ports;
  for (const auto& node : graph.nodes)
    if (node.module == module)
      for (const auto& [port, ref] : node.inputs) ports.insert(port);
  s.inputs.assign(ports.begin(), ports.end());
  return s;
}

NodeSetup BuiltGraph::setup_for(const NodeEntry& node) const {
  NodeSetup s = setup_for(node.name, node.params);
  for (const auto& [port, ref] : node.inputs) s.inputs.push_back(port);
  // Connected too, though absent in the first iteration.
  for (const auto& [port, ref] : node.previous_inputs) s.inputs.push_back(port);
  return s;
}

std::shared_ptr<Source> BuiltGraph::copy_source(int node) const {
  const NodeEntry& n = graph.nodes[node];
  auto copy = make_source(*n.type, setup_for(n));
  if (!adopted[node].empty()) {
    try {
      copy->adopt(adopted[node]);
    } catch (const std::exception& e) {
      throw NodeFailure(describe(n) + " failed: " + message_of(e), n.pointer);
    }
  }
  return copy;
}

const BuiltGraph::EmaPairs& BuiltGraph::ema_pairs(int m) {
  // Paired by name, not by position, once, and again after the module grows: a shadow tensor
  // always averages the parameter of the same name.
  auto found = ema_pairs_.find(m);
  if (found != ema_pairs_.end()) return found->second;
  EmaPairs pairs;
  auto shadow = ema[m]->named_parameters();
  for (const auto& p : modules[m]->named_parameters()) {
    const torch::Tensor* dst = shadow.find(p.key());
    if (!dst)
      throw NodeFailure("the EMA shadow of module " + graph.modules[m].name + " has no parameter " + p.key() +
                            " (a module that grows must grow its shadow too)",
                        graph.modules[m].pointer + "/ema");
    pairs.parameters.emplace_back(*dst, p.value());
  }
  auto shadow_buffers = ema[m]->named_buffers();
  for (const auto& b : modules[m]->named_buffers())
    if (const torch::Tensor* dst = shadow_buffers.find(b.key())) pairs.buffers.emplace_back(*dst, b.value());
  return ema_pairs_.emplace(m, std::move(pairs)).first->second;
}

RunState::RunState(const BuiltGraph& built_, std::uint64_t engine_seed)
    : built(built_),
      module_version(built_.modules.size(), 0),
      stage(built_.modules.size(), 0),
      tracking(built_.modules.size(), 1),
      context(built_.graph, *this, built_.placement, built_.device, engine_seed) {}

bool RunState::valid(const Value& v, int node, const PhasePlan& pp) const {
  if (built.per_phase[node] && v.phase_run != phase_run) return false;
  const auto& deps = built.plan.module_deps[node];
  for (size_t i = 0; i < deps.size(); ++i) {
    if (v.versions[i] != module_version[deps[i]]) return false;
    // Reusable only if it recorded gradients for every module this phase updates.
    const bool updated = std::find(pp.updated.begin(), pp.updated.end(), deps[i]) != pp.updated.end();
    if (updated && std::find(v.tracked.begin(), v.tracked.end(), deps[i]) == v.tracked.end()) return false;
  }
  return true;
}

void RunState::stamp(Value& v, int node) const {
  for (int m : built.plan.module_deps[node]) {
    v.versions.push_back(module_version[m]);
    if (tracking[m]) v.tracked.push_back(m);
  }
  v.phase_run = phase_run;
}

void RunState::set_tracking(const std::vector<int>& tracked) {
  for (size_t m = 0; m < built.modules.size(); ++m) {
    const char want = std::find(tracked.begin(), tracked.end(), static_cast<int>(m)) != tracked.end();
    if (tracking[m] == want) continue;
    for (auto& p : built.trainable[m]) p.requires_grad_(want);
    tracking[m] = want;
  }
}

}  // namespace ganglion::run_parts
