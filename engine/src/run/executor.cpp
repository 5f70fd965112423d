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

using run_parts::BuiltGraph;
using run_parts::compute;
using run_parts::Context;
using run_parts::PortCheck;
using run_parts::RunState;
using run_parts::Sampler;
using run_parts::Value;

Executor::Executor(const Graph& graph, const Plan& plan, torch::Device device, Placement placement)
    : graph_(graph), plan_(plan), last_step_(graph.steps) {
  built_ = std::make_unique<BuiltGraph>(graph, plan, device, placement);
  // Noise must differ between ranks (each draws its own share of the batch); rank 0 keeps the
  // single-process stream, so one process trains exactly as before.
  const std::uint64_t engine_seed =
      placement.rank == 0 ? graph.seed : node_seed(graph.seed, "rank/" + std::to_string(placement.rank));
  state_ = std::make_unique<RunState>(*built_, engine_seed);
  sampler_ = std::make_unique<Sampler>(*built_);
}

Executor::~Executor() = default;

const std::vector<std::shared_ptr<NetModule>>& Executor::modules() const { return built_->modules; }
const std::vector<std::shared_ptr<NetModule>>& Executor::ema_modules() const { return built_->ema; }
const torch::optim::Optimizer& Executor::optimizer(int entry) const {
  return *built_->optimizers.at(entry).optimizer;
}
std::int64_t Executor::images_seen() const { return state_->images_seen; }
std::int64_t Executor::module_stage(int module) const { return state_->stage.at(module); }
std::int64_t Executor::module_version(int module) const { return state_->module_version.at(module); }
torch::Device Executor::device() const { return built_->device; }
void Executor::set_sample_with_ema(bool ema) { sampler_->with_ema = ema; }

namespace run_parts {

void compute(BuiltGraph& built, RunState& state, int node, std::map<int, Value>& values, Sampler* sampler,
             const Executor::ValueObserver& observer) {
  const NodeEntry& n = built.graph.nodes[node];
  Context& ctx = state.context;
  TensorMap in;
  for (const auto& [port, ref] : n.inputs) {
    const torch::Tensor& t = values.at(ref.node).outputs.at(ref.port);
    // A stale reference reads an earlier phase's value as a constant.
    in[port] = n.stale_inputs.count(port) ? t.detach() : t;
  }
  // A previous-iteration input is absent until an earlier iteration has computed its producer,
  // and while sampling: training's last values are no input of a sample draw.
  if (!sampler)
    for (const auto& [port, ref] : n.previous_inputs) {
      auto it = state.previous.find(ref.node);
      if (it == state.previous.end()) continue;
      auto value = it->second.find(ref.port);
      if (value != it->second.end()) in[port] = value->second;
    }
  const PortCheck& ports = built.ports[node];
  PortCheck::Sizes sizes = ports.inputs(in);
  Value v;
  try {
    switch (n.kind()) {
      case NodeKind::Module: {
        auto& net = sampler ? sampler->module(n.module) : built.modules[n.module];
        const Context::Computing computing(ctx, node);
        v.outputs = net->forward(in, ctx);
        break;
      }
      case NodeKind::Function: {
        const Context::Computing computing(ctx, node);
        v.outputs = built.functions[node]->forward(in, ctx);
        break;
      }
      case NodeKind::Source: {
        auto& prefetcher = built.prefetchers[node];
        // The prefetcher's source is read only through the prefetcher (its thread owns it).
        if (sampler && (prefetcher || !built.sources[node]->position().empty())) {
          v.outputs = sampler->batch(node, ctx);
        } else {
          v.outputs = prefetcher ? prefetcher->next() : built.sources[node]->next(in, ctx);
          // images/s counts the rows of data: prefetched sources and those whose contract says so
          // (not noise).
          const bool data = prefetcher || n.contract().counts_rows_as_data();
          if (data && !v.outputs.empty() && v.outputs.begin()->second.dim() > 0)
            state.record_samples += v.outputs.begin()->second.size(0);
        }
        if (prefetcher && built.device != torch::kCPU)
          for (auto& [port, t] : v.outputs) t = t.to(built.device, /*non_blocking=*/true);
        break;
      }
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
  ports.outputs(v.outputs, sizes);
  if (observer) observer(n.name, v.outputs);
  if (!sampler && !built.read_next_iteration[node].empty()) {
    TensorMap& kept = state.latest[node];
    for (const auto& port : built.read_next_iteration[node]) kept[port] = v.outputs.at(port).detach();
  }
  state.stamp(v, node);
  values[node] = std::move(v);
}

}  // namespace run_parts

std::map<std::string, double> IterationRecord::losses() const {
  std::map<std::string, double> out;
  for (const auto& [phase, value] : loss_values) out[phase] = value.item<double>();
  return out;
}

void Executor::run_phase(const PhasePlan& pp, std::int64_t step, IterationRecord& record) {
  auto& cache = state_->values;
  ++state_->phase_run;
  state_->set_tracking(pp.tracked);
  for (const auto& s : pp.nodes) {
    auto it = cache.find(s.node);
    if (it == cache.end() || !state_->valid(it->second, s.node, pp))
      compute(*built_, *state_, s.node, cache, nullptr, observer_);
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
      for (auto& p : built_->trainable[m]) {
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
          for (auto& p : built_->trainable[g.module]) p.mutable_grad() = torch::Tensor();
      if (gradient_hook_) gradient_hook_(spec, params);
      BuiltOptimizer& built = built_->optimizers[spec.optimizer];
      apply_lr_schedules(*built.optimizer, entry, built.layout, step, last_step_);
      built.optimizer->step();
    }
    for (int m : pp.updated) {
      ++state_->module_version[m];
      if (built_->ema[m]) update_ema(m, step);
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
    const bool shared_sample = graph_.nodes[node].kind() == NodeKind::Source && !built_->per_phase[node];
    bool kept = shared_sample;
    for (const auto& s : pp.nodes)
      if (s.node == node && s.kept) kept = true;
    // Values kept by an earlier phase for a later one stay until the iteration ends.
    if (!kept && it->second.phase_run != state_->phase_run) kept = true;
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

void Executor::update_ema(int m, std::int64_t step) {
  const double beta = graph_.modules[m].ema.beta_at(step, state_->record_samples,
                                                    state_->images_seen + state_->record_samples);
  torch::NoGradGuard no_grad;
  const BuiltGraph::EmaPairs& pairs = built_->ema_pairs(m);
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
  auto& net = built_->modules[m];
  auto& shadow_net = built_->ema[m];
  while (state_->stage[m] < stage) {
    const std::int64_t next = state_->stage[m] + 1;
    std::set<std::string> before;
    for (const auto& p : net->named_parameters()) before.insert(p.key());
    try {
      net->grow(next);
      net->to(built_->device);
      if (shadow_net) {
        shadow_net->grow(next);
        shadow_net->to(built_->device);
      }
    } catch (const std::exception& e) {
      throw NodeFailure("module " + graph_.modules[m].name + " (" + graph_.modules[m].type->contract.type() +
                            ") failed to grow to stage " + std::to_string(next) + ": " + message_of(e),
                        graph_.modules[m].pointer + "/grow");
    }
    state_->stage[m] = next;
    // The new parameters: trained from now on, stepped by the optimisers that step the module
    // (with fresh state), and copied into the EMA shadow, which starts averaging them from here.
    std::vector<std::pair<std::string, torch::Tensor>> added;
    auto shadow =
        shadow_net ? shadow_net->named_parameters() : torch::OrderedDict<std::string, torch::Tensor>();
    for (const auto& p : net->named_parameters())
      if (!before.count(p.key())) {
        added.emplace_back(p.key(), p.value());
        if (p.value().requires_grad()) built_->trainable[m].push_back(p.value());
        if (torch::Tensor* copy = shadow.find(p.key())) {
          torch::NoGradGuard no_grad;
          copy->copy_(p.value()).requires_grad_(false);
        }
      }
    const auto multipliers = net->learning_rate_multipliers();
    for (size_t o = 0; o < built_->optimizers.size(); ++o) {
      const int group = graph_.optimizers[o].group_of(m);
      if (group >= 0 && built_->optimizers[o].optimizer)
        add_parameters(built_->optimizers[o], group, added, multipliers);
    }
    state_->tracking[m] = 2;      // unknown: the next phase sets requires_grad on old and new alike
    built_->forget_ema_pairs(m);  // paired again, new parameters included, at the next update
  }
}

void Executor::grow_due(std::int64_t step) {
  for (size_t m = 0; m < graph_.modules.size(); ++m) {
    const int s = graph_.modules[m].grow;
    if (s < 0) continue;
    const auto stage =
        static_cast<std::int64_t>(std::floor(graph_.schedules[s].at(step, state_->images_seen)));
    if (stage > state_->stage[m]) grow_to(static_cast<int>(m), stage);
  }
}

IterationRecord Executor::run_iteration(std::int64_t step) {
  IterationRecord record;
  state_->context.step_ = step;
  state_->record_samples = 0;
  grow_due(step);
  state_->values.clear();
  for (const auto& pp : phases_due(step)) {
    const PhaseSpec& spec = graph_.phases[pp.phase];
    for (std::int64_t r = 0; r < spec.repeat; ++r) run_phase(pp, step, record);
  }
  // Nothing outlives its iteration but what previous-iteration inputs read: the next one starts
  // from fresh draws.
  state_->values.clear();
  for (auto& [node, outputs] : state_->latest) state_->previous[node] = std::move(outputs);
  state_->latest.clear();
  record.samples = state_->record_samples;
  state_->images_seen += state_->record_samples;
  return record;
}

}  // namespace ganglion
