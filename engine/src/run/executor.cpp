#include "ganglion/engine/executor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>

#include <ganglion/plugin.h>
#include "ganglion/engine/checkpoint.h"
#include "ganglion/engine/optimizers.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/prefetcher.h"
#include "run/executor_parts.h"

namespace ganglion {

using run_parts::dtype_matches;
using run_parts::load_weights;

namespace {

/// Checks a node's tensors against its contract: each input's dtype and rank (before the node
/// runs), and across inputs and then outputs, that a dimension name ("B", "T") has one size and a
/// number is that size. The inputs' sizes are kept for the outputs, so each tensor is read once.
/// Throws NodeFailure naming the ports.
class PortCheck {
 public:
  explicit PortCheck(const NodeEntry& n)
      : n_(n), node_("node \"" + n.name + "\" (" + n.contract().type() + ")") {}

  void inputs(const TensorMap& in) {
    for (const auto& [port, t] : in) {
      const PortSpec* spec = n_.contract().find_input(port);
      if (!spec || !t.defined()) continue;
      const std::string where = "input \"" + port + "\"";
      if (!dtype_matches(spec->dtype, t))
        fail(where + " is " + std::string(t.dtype().name()) + " but its contract says " +
             to_string(spec->dtype));
      if (spec->rank() >= 0 && t.dim() != spec->rank())
        fail(where + " has " + std::to_string(t.dim()) + " dimensions but its contract says \"" +
             spec->shape + "\"");
      bind(*spec, where, t);
    }
  }

  void outputs(const TensorMap& out) {
    for (const auto& spec : n_.contract().outputs()) {
      auto it = out.find(spec.name);
      if (it != out.end() && it->second.defined()) bind(spec, "output \"" + spec.name + "\"", it->second);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw NodeFailure(node_ + ": " + what, n_.pointer);
  }

  void bind(const PortSpec& spec, const std::string& where, const torch::Tensor& t) {
    const auto dims = spec.dimensions();
    if (static_cast<std::int64_t>(dims.size()) != t.dim()) return;  // rank is checked apart
    for (size_t d = 0; d < dims.size(); ++d) {
      const std::string& name = dims[d];
      const std::int64_t size = t.size(static_cast<std::int64_t>(d));
      if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
        if (size != std::stoll(name))
          fail(where + " has size " + std::to_string(size) + " in dimension " + std::to_string(d) +
               ", but its contract (\"" + spec.shape + "\") says " + name);
        continue;
      }
      auto [it, fresh] = sizes_.emplace(name, std::make_pair(size, where));
      if (!fresh && it->second.first != size)
        fail("dimension " + name + " is " + std::to_string(it->second.first) + " in " + it->second.second +
             " but " + std::to_string(size) + " in " + where + " (the contract names both " + name +
             ", so they must agree)");
    }
  }

  const NodeEntry& n_;
  const std::string node_;
  std::map<std::string, std::pair<std::int64_t, std::string>> sizes_;  ///< name -> (size, where)
};

}  // namespace

Executor::Executor(const Graph& graph, const Plan& plan, torch::Device device, Placement placement)
    : placement_(placement), graph_(graph), plan_(plan), device_(device) {
  last_step_ = graph.steps;
  // Noise must differ between ranks (each draws its own share of the batch); rank 0 keeps the
  // single-process stream, so one process trains exactly as before.
  const std::uint64_t engine_seed =
      placement.rank == 0 ? graph.seed : node_seed(graph.seed, "rank/" + std::to_string(placement.rank));
  context_ = std::make_unique<Context>(*this, device, engine_seed);
  torch::manual_seed(graph.seed);  // for anything a plugin draws from torch's default generator
  Diagnostics diags(graph.file);
  for (const auto& m : graph.modules) {
    try {
      auto net = make_module(*m.type, setup_for(m.name, m.params));
      net->to(device);
      if (!m.weights.from.empty()) load_weights(m, *net, device);
      std::shared_ptr<NetModule> shadow;
      if (m.ema.enabled) {
        // A second instance from the same params, holding the average; never trained directly.
        shadow = make_module(*m.type, setup_for(m.name, m.params));
        shadow->to(device);
        torch::NoGradGuard no_grad;
        auto src = net->named_parameters(), dst = shadow->named_parameters();
        for (auto& p : dst) p.value().copy_(src[p.key()]).requires_grad_(false);
        auto sb = net->named_buffers();
        for (auto& b : shadow->named_buffers()) b.value().copy_(sb[b.key()]);
      }
      modules_.push_back(net);
      ema_.push_back(shadow);
    } catch (const UserError&) {
      throw;
    } catch (const std::exception& e) {
      diags.error(m.pointer, m.type->contract.type() + " rejected its params: " + message_of(e));
      modules_.push_back(nullptr);
      ema_.push_back(nullptr);
    }
  }
  module_version_.assign(modules_.size(), 0);
  stage_.assign(modules_.size(), 0);
  tracking_.assign(modules_.size(), 1);
  // Parameters a plugin froze itself (a fixed feature extractor, say) stay frozen in every phase.
  for (const auto& net : modules_) {
    trainable_.emplace_back();
    if (net)
      for (auto& p : net->parameters())
        if (p.requires_grad()) trainable_.back().push_back(p);
  }
  const size_t n = graph.nodes.size();
  functions_.resize(n);
  sources_.resize(n);
  sample_sources_.resize(n);
  sample_batches_.resize(n);
  per_phase_.assign(n, 0);
  for (size_t i = 0; i < n; ++i) prefetchers_.emplace_back();
  for (size_t i = 0; i < n; ++i) {
    const NodeEntry& node = graph.nodes[i];
    try {
      if (node.kind() == NodeKind::Function) functions_[i] = make_function(*node.type, setup_for(node));
      if (node.kind() == NodeKind::Source) {
        sources_[i] = make_source(*node.type, setup_for(node));
        if (sources_[i]->prefetchable())
          prefetchers_[i] = std::make_unique<Prefetcher>(sources_[i], node.name);
      }
    } catch (const std::exception& e) {
      diags.error(node.pointer, node.contract().type() + " rejected its params: " + message_of(e));
    }
  }
  for (int v : plan.order) {
    const NodeEntry& node = graph.nodes[v];
    per_phase_[v] = node.kind() == NodeKind::Source && node.draw == DrawPolicy::PerPhase;
    for (const auto& [port, ref] : node.inputs) per_phase_[v] |= per_phase_[ref.node];
  }
  if (diags.empty()) {
    ModuleMultipliers multipliers;
    for (const auto& net : modules_) multipliers.push_back(net->learning_rate_multipliers());
    for (const auto& entry : graph.optimizers) {
      try {
        optimizers_.push_back(make_optimizer(entry, modules_, multipliers));
      } catch (const std::exception& e) {
        diags.error(entry.pointer, message_of(e));
        optimizers_.emplace_back();
      }
    }
  }
  diags.throw_if_any();
}

Executor::~Executor() = default;

NodeSetup Executor::setup_for(const std::string& name, const Params& params) const {
  NodeSetup s;
  s.params = params;
  // The same on every rank: a data set's shuffle must agree across the ranks that shard it.
  s.seed = node_seed(graph_.seed, name);
  s.rank = placement_.rank;
  s.world_size = placement_.world_size;
  s.name = name;
  return s;
}

NodeSetup Executor::setup_for(const NodeEntry& node) const {
  NodeSetup s = setup_for(node.name, node.params);
  for (const auto& [port, ref] : node.inputs) s.inputs.push_back(port);
  return s;
}

void Executor::set_tracking(const std::vector<int>& tracked) {
  for (size_t m = 0; m < modules_.size(); ++m) {
    const char want = std::find(tracked.begin(), tracked.end(), static_cast<int>(m)) != tracked.end();
    if (tracking_[m] == want) continue;
    for (auto& p : trainable_[m]) p.requires_grad_(want);
    tracking_[m] = want;
  }
}

bool Executor::valid(const Value& v, int node, const PhasePlan& pp) const {
  if (per_phase_[node] && v.phase_run != phase_run_) return false;
  const auto& deps = plan_.module_deps[node];
  for (size_t i = 0; i < deps.size(); ++i) {
    if (v.versions[i] != module_version_[deps[i]]) return false;
    // Reusable only if it recorded gradients for every module this phase updates.
    const bool updated = std::find(pp.updated.begin(), pp.updated.end(), deps[i]) != pp.updated.end();
    if (updated && std::find(v.tracked.begin(), v.tracked.end(), deps[i]) == v.tracked.end()) return false;
  }
  return true;
}

void Executor::check_outputs(int node, const TensorMap& out) {
  const NodeEntry& n = graph_.nodes[node];
  for (const auto& spec : n.contract().outputs()) {
    auto it = out.find(spec.name);
    if (it == out.end() || !it->second.defined())
      throw NodeFailure(describe(n) + " did not produce its output \"" + spec.name + "\" (a plugin bug)",
                        n.pointer);
    const auto& t = it->second;
    if (!dtype_matches(spec.dtype, t))
      throw NodeFailure(describe(n) + " output \"" + spec.name + "\" is " + std::string(t.dtype().name()) +
                            " but its contract says " + to_string(spec.dtype),
                        n.pointer);
    if (spec.rank() >= 0 && t.dim() != spec.rank())
      throw NodeFailure(describe(n) + " output \"" + spec.name + "\" has " + std::to_string(t.dim()) +
                            " dimensions but its contract says \"" + spec.shape + "\"",
                        n.pointer);
  }
}

void Executor::compute(int node, Context& ctx, std::map<int, Value>& cache, bool sampling) {
  const NodeEntry& n = graph_.nodes[node];
  TensorMap in;
  for (const auto& [port, ref] : n.inputs) {
    const torch::Tensor& t = cache.at(ref.node).outputs.at(ref.port);
    // A stale reference reads an earlier phase's value as a constant.
    in[port] = n.stale_inputs.count(port) ? t.detach() : t;
  }
  PortCheck ports(n);
  ports.inputs(in);
  Value v;
  try {
    switch (n.kind()) {
      case NodeKind::Module: {
        auto& net = sampling ? sampling_module(n.module) : modules_[n.module];
        const Context::Computing computing(ctx, node);
        v.outputs = net->forward(in, ctx);
        break;
      }
      case NodeKind::Function: {
        const Context::Computing computing(ctx, node);
        v.outputs = functions_[node]->forward(in, ctx);
        break;
      }
      case NodeKind::Source:
        // The prefetcher's source is read only through the prefetcher (its thread owns it).
        if (sampling && (prefetchers_[node] || !sources_[node]->position().empty())) {
          // Data for samples comes from a copy, so training's position is untouched. Sample grids
          // use the data set's first batch; draw k of an evaluation its k-th batch, so a large draw
          // covers as much of the data set as it asks for.
          if (ctx.draw_ == 0) {
            if (sample_batches_[node].empty()) {
              auto copy = make_source(*n.type, setup_for(n));
              sample_batches_[node] = copy->next({}, ctx);
            }
            v.outputs = sample_batches_[node];
          } else {
            if (ctx.draw_ == 1 || !sample_sources_[node])
              sample_sources_[node] = make_source(*n.type, setup_for(n));
            v.outputs = sample_sources_[node]->next({}, ctx);
          }
        } else {
          v.outputs = prefetchers_[node] ? prefetchers_[node]->next() : sources_[node]->next(in, ctx);
          // images/s counts the rows of data: prefetched sources and those whose contract says so
          // (not noise).
          const bool data = prefetchers_[node] || n.contract().counts_rows_as_data();
          if (data && !v.outputs.empty() && v.outputs.begin()->second.dim() > 0)
            record_samples_ += v.outputs.begin()->second.size(0);
        }
        if (prefetchers_[node] && device_ != torch::kCPU)
          for (auto& [port, t] : v.outputs) t = t.to(device_, /*non_blocking=*/true);
        break;
      case NodeKind::Writer:
        break;
    }
  } catch (const NodeFailure&) {
    throw;
  } catch (const std::exception& e) {
    throw NodeFailure(describe(n) + " failed: " + message_of(e), n.pointer);
  }
  // Every call, not only the first: a map look-up per port is nothing next to the node's work,
  // and a plugin that drops an output later must still be named.
  check_outputs(node, v.outputs);
  ports.outputs(v.outputs);
  if (observer_) observer_(graph_.nodes[node].name, v.outputs);
  const auto& deps = plan_.module_deps[node];
  for (int m : deps) {
    v.versions.push_back(module_version_[m]);
    if (tracking_[m]) v.tracked.push_back(m);
  }
  v.phase_run = phase_run_;
  cache[node] = std::move(v);
}

std::map<std::string, double> IterationRecord::losses() const {
  std::map<std::string, double> out;
  for (const auto& [phase, value] : loss_values) out[phase] = value.item<double>();
  return out;
}

void Executor::run_phase(const PhasePlan& pp, std::int64_t step, IterationRecord& record) {
  auto& cache = *cache_;
  ++phase_run_;
  set_tracking(pp.tracked);
  for (const auto& s : pp.nodes) {
    auto it = cache.find(s.node);
    if (it == cache.end() || !valid(it->second, s.node, pp)) compute(s.node, *context_, cache, false);
  }
  const PhaseSpec& spec = graph_.phases[pp.phase];
  torch::Tensor loss = cache.at(spec.minimize.node).outputs.at(spec.minimize.port);
  if (loss.numel() != 1)
    throw NodeFailure("phase \"" + spec.name + "\" minimises \"" + graph_.port_name(spec.minimize) +
                          "\", which holds " + std::to_string(loss.numel()) + " values, not one",
                      spec.pointer + "/minimize");
  if (!loss.is_floating_point())
    throw NodeFailure("phase \"" + spec.name + "\" minimises \"" + graph_.port_name(spec.minimize) +
                          "\", which is not a floating-point value",
                      spec.pointer + "/minimize");
  try {
    std::vector<torch::Tensor> params;
    for (int m : pp.updated)
      for (auto& p : trainable_[m]) {
        p.mutable_grad() = torch::Tensor();  // set to none, not zeroed: no memset, no stale add
        params.push_back(p);
      }
    if (loss.requires_grad() && !params.empty()) {
      // Only the updated modules' parameters receive gradients: nothing leaks into frozen ones.
      {
        RECORD_FUNCTION("ganglion::backward", std::vector<c10::IValue>());
        torch::autograd::backward({loss.reshape({})}, {}, pp.retain_graph, false, params);
      }
      RECORD_FUNCTION("ganglion::optimizer_step", std::vector<c10::IValue>());
      const OptimizerEntry& entry = graph_.optimizers[spec.optimizer];
      // A shared optimiser steps only this phase's modules: the others' gradients (from another
      // phase's backward) are set to none, and the optimiser skips parameters without one.
      for (const auto& g : entry.groups)
        if (!spec.updates(g.module))
          for (auto& p : trainable_[g.module]) p.mutable_grad() = torch::Tensor();
      if (gradient_hook_) gradient_hook_(spec, params);
      torch::optim::Optimizer& optimizer = *optimizers_[spec.optimizer].optimizer;
      apply_lr_schedules(optimizer, entry, optimizers_[spec.optimizer].layout, step, last_step_);
      optimizer.step();
    }
    for (int m : pp.updated) {
      ++module_version_[m];
      if (ema_[m]) update_ema(m, step);
    }
    record.loss_values[spec.name] = loss.detach().reshape({});
  } catch (const std::exception& e) {
    throw NodeFailure(
        "phase \"" + spec.name + "\" failed in its backward pass or optimizer step: " + message_of(e),
        spec.pointer);
  }
  // Free what no later phase of this iteration reuses; per-iteration samples stay for the
  // iteration, so that every phase sees the same draw.
  for (auto it = cache.begin(); it != cache.end();) {
    const int node = it->first;
    const bool shared_sample = graph_.nodes[node].kind() == NodeKind::Source && !per_phase_[node];
    bool kept = shared_sample;
    for (const auto& s : pp.nodes)
      if (s.node == node && s.kept) kept = true;
    // Values kept by an earlier phase for a later one stay until the iteration ends.
    if (!kept && it->second.phase_run != phase_run_) kept = true;
    it = kept ? std::next(it) : cache.erase(it);
  }
}

double EmaSpec::beta_at(std::int64_t step, std::int64_t images, std::int64_t seen) const {
  if (half_life_images > 0) {
    double half_life = half_life_images;
    if (rampup_ratio > 0) half_life = std::min(half_life, double(seen) * rampup_ratio);
    return std::pow(0.5, double(images) / std::max(half_life, 1e-8));
  }
  // Early averages would be dominated by the random initial weights: until about `rampup` steps
  // the effective beta stays below one half.
  if (rampup > 0) return std::min(beta, (1.0 + step) / (1.0 + step + rampup));
  return beta;
}

const Executor::EmaPairs& Executor::ema_pairs(int m) {
  // Paired by name, not by position, once, and again after the module grows (grow_to drops the
  // pairs): a shadow tensor always averages the parameter of the same name.
  auto found = ema_pairs_.find(m);
  if (found != ema_pairs_.end()) return found->second;
  EmaPairs pairs;
  auto shadow = ema_[m]->named_parameters();
  for (const auto& p : modules_[m]->named_parameters()) {
    const torch::Tensor* dst = shadow.find(p.key());
    if (!dst)
      throw NodeFailure("the EMA shadow of module " + graph_.modules[m].name + " has no parameter " +
                            p.key() + " (a module that grows must grow its shadow too)",
                        graph_.modules[m].pointer + "/ema");
    pairs.parameters.emplace_back(*dst, p.value());
  }
  auto shadow_buffers = ema_[m]->named_buffers();
  for (const auto& b : modules_[m]->named_buffers())
    if (const torch::Tensor* dst = shadow_buffers.find(b.key())) pairs.buffers.emplace_back(*dst, b.value());
  return ema_pairs_.emplace(m, std::move(pairs)).first->second;
}

void Executor::update_ema(int m, std::int64_t step) {
  const double beta = graph_.modules[m].ema.beta_at(step, record_samples_, images_seen_ + record_samples_);
  torch::NoGradGuard no_grad;
  const EmaPairs& pairs = ema_pairs(m);
  for (const auto& [dst, src] : pairs.parameters) dst.lerp_(src.detach(), 1.0 - beta);
  for (const auto& [dst, src] : pairs.buffers) dst.copy_(src);
}

const std::vector<PhasePlan>& Executor::phases_due(std::int64_t step) {
  std::vector<char> due = due_phases(graph_, step);
  if (every_phase_due(due)) return plan_.phases;
  // Planned once per combination of due phases: what is reused depends on what ran before.
  auto it = iteration_plans_.find(due);
  if (it == iteration_plans_.end())
    it = iteration_plans_.emplace(due, plan_iteration(graph_, plan_, due)).first;
  return it->second;
}

void Executor::grow_to(int m, std::int64_t stage) {
  auto& net = modules_[m];
  while (stage_[m] < stage) {
    const std::int64_t next = stage_[m] + 1;
    std::set<std::string> before;
    for (const auto& p : net->named_parameters()) before.insert(p.key());
    try {
      net->grow(next);
      net->to(device_);
      if (ema_[m]) {
        ema_[m]->grow(next);
        ema_[m]->to(device_);
      }
    } catch (const std::exception& e) {
      throw NodeFailure("module " + graph_.modules[m].name + " (" + graph_.modules[m].type->contract.type() +
                            ") failed to grow to stage " + std::to_string(next) + ": " + message_of(e),
                        graph_.modules[m].pointer + "/grow");
    }
    stage_[m] = next;
    // The new parameters: trained from now on, stepped by the optimisers that step the module
    // (with fresh state), and copied into the EMA shadow, which starts averaging them from here.
    std::vector<std::pair<std::string, torch::Tensor>> added;
    auto shadow = ema_[m] ? ema_[m]->named_parameters() : torch::OrderedDict<std::string, torch::Tensor>();
    for (const auto& p : net->named_parameters())
      if (!before.count(p.key())) {
        added.emplace_back(p.key(), p.value());
        if (p.value().requires_grad()) trainable_[m].push_back(p.value());
        if (torch::Tensor* copy = shadow.find(p.key())) {
          torch::NoGradGuard no_grad;
          copy->copy_(p.value()).requires_grad_(false);
        }
      }
    const auto multipliers = net->learning_rate_multipliers();
    for (size_t o = 0; o < optimizers_.size(); ++o) {
      const int group = graph_.optimizers[o].group_of(m);
      if (group >= 0 && optimizers_[o].optimizer) add_parameters(optimizers_[o], group, added, multipliers);
    }
    tracking_[m] = 2;     // unknown: the next phase sets requires_grad on old and new alike
    ema_pairs_.erase(m);  // paired again, new parameters included, at the next update
  }
}

void Executor::grow_due(std::int64_t step) {
  for (size_t m = 0; m < graph_.modules.size(); ++m) {
    const int s = graph_.modules[m].grow;
    if (s < 0) continue;
    const auto stage = static_cast<std::int64_t>(std::floor(graph_.schedules[s].at(step, images_seen_)));
    if (stage > stage_[m]) grow_to(static_cast<int>(m), stage);
  }
}

IterationRecord Executor::run_iteration(std::int64_t step) {
  IterationRecord record;
  context_->step_ = step;
  record_samples_ = 0;
  grow_due(step);
  std::map<int, Value> cache;
  cache_ = &cache;
  for (const auto& pp : phases_due(step)) {
    const PhaseSpec& spec = graph_.phases[pp.phase];
    for (std::int64_t r = 0; r < spec.repeat; ++r) run_phase(pp, step, record);
  }
  cache_ = nullptr;
  record.samples = record_samples_;
  images_seen_ += record_samples_;
  return record;
}

}  // namespace ganglion
