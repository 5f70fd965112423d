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
#include "ganglion/engine/user_error.h"

namespace ganglion {

namespace {

/// A seed per node from the graph's seed and the node's name (FNV-1a), so that renaming one node
/// does not reshuffle every other.
std::uint64_t node_seed(std::uint64_t graph_seed, const std::string& name) {
  std::uint64_t h = 1469598103934665603ull ^ graph_seed;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// The seed of a sampling stream: draw 0 for sample grids, draw k for an evaluation's k-th batch,
/// apart from the training stream seeded by `seed`.
std::uint64_t sampling_seed(std::uint64_t seed, std::uint64_t draw) {
  return seed ^ 0x5A4D504C45ull ^ (draw * 0x9E3779B97F4A7C15ull);
}

std::string describe(const NodeEntry& n) { return "node \"" + n.name + "\" (" + n.contract().type() + ")"; }

/// The message of an exception from LibTorch or a plugin, without LibTorch's C++ backtrace.
std::string message_of(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

bool dtype_matches(DType want, const torch::Tensor& t) {
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

/// Checks a node's tensors against its contract: each input's dtype and rank, and across inputs
/// and (once computed) outputs, that a dimension name ("B", "T") has one size and a number is
/// that size. Throws NodeFailure naming the ports.
void check_ports(const NodeEntry& n, const TensorMap& in, const TensorMap* out) {
  const Contract& c = n.contract();
  const std::string node = "node \"" + n.name + "\" (" + c.type() + ")";
  std::map<std::string, std::pair<std::int64_t, std::string>> sizes;  // name -> (size, where)
  auto bind = [&](const PortSpec& spec, const std::string& where, const torch::Tensor& t) {
    const auto dims = spec.dimensions();
    if (static_cast<std::int64_t>(dims.size()) != t.dim()) return;  // rank is checked apart
    for (size_t d = 0; d < dims.size(); ++d) {
      const std::string& name = dims[d];
      const std::int64_t size = t.size(static_cast<std::int64_t>(d));
      if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
        if (size != std::stoll(name))
          throw NodeFailure(node + ": " + where + " has size " + std::to_string(size) + " in dimension " +
                                std::to_string(d) + ", but its contract (\"" + spec.shape + "\") says " +
                                name,
                            n.pointer);
        continue;
      }
      auto [it, fresh] = sizes.emplace(name, std::make_pair(size, where));
      if (!fresh && it->second.first != size)
        throw NodeFailure(node + ": dimension " + name + " is " + std::to_string(it->second.first) + " in " +
                              it->second.second + " but " + std::to_string(size) + " in " + where +
                              " (the contract names both " + name + ", so they must agree)",
                          n.pointer);
    }
  };
  for (const auto& [port, t] : in) {
    const PortSpec* spec = c.find_input(port);
    if (!spec || !t.defined()) continue;
    const std::string where = "input \"" + port + "\"";
    if (!dtype_matches(spec->dtype, t))
      throw NodeFailure(node + ": " + where + " is " + std::string(t.dtype().name()) +
                            " but its contract says " + to_string(spec->dtype),
                        n.pointer);
    if (spec->rank() >= 0 && t.dim() != spec->rank())
      throw NodeFailure(node + ": " + where + " has " + std::to_string(t.dim()) +
                            " dimensions but its contract says \"" + spec->shape + "\"",
                        n.pointer);
    bind(*spec, where, t);
  }
  if (!out) return;
  for (const auto& spec : c.outputs()) {
    auto it = out->find(spec.name);
    if (it != out->end() && it->second.defined()) bind(spec, "output \"" + spec.name + "\"", it->second);
  }
}

}  // namespace

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

namespace {
void load_weights(const ModuleEntry& m, torch::nn::Module& net, torch::Device device);
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
  if (n.kind() != NodeKind::Source) check_ports(n, in, nullptr);
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
  check_ports(n, in, &v.outputs);
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

std::shared_ptr<NetModule>& Executor::sampling_module(int m) {
  return sample_with_ema_ && ema_[m] ? ema_[m] : modules_[m];
}

torch::Tensor Executor::sample(const PortRef& ref) { return sample_draw({ref}, 0).front(); }

std::vector<torch::Tensor> Executor::sample(const std::vector<PortRef>& refs) { return sample_draw(refs, 0); }

torch::Tensor Executor::draw(const PortRef& ref, std::int64_t count) {
  return draw(std::vector<PortRef>{ref}, count).front();
}

std::vector<torch::Tensor> Executor::draw(const std::vector<PortRef>& refs, std::int64_t count) {
  std::vector<std::vector<torch::Tensor>> parts(refs.size());
  std::vector<std::int64_t> have(refs.size(), 0);
  const auto short_of = [&] {
    return std::any_of(have.begin(), have.end(), [&](auto h) { return h < count; });
  };
  for (std::uint64_t k = 1; short_of(); ++k) {
    std::vector<torch::Tensor> batch = sample_draw(refs, k);
    for (size_t r = 0; r < refs.size(); ++r) {
      torch::Tensor& part = batch[r];
      if (part.dim() == 0 || part.size(0) == 0)
        throw NodeFailure("\"" + graph_.port_name(refs[r]) + "\" gives no rows to draw from (its shape is " +
                          c10::str(part.sizes()) + ")");
      have[r] += part.size(0);
      parts[r].push_back(std::move(part));
    }
  }
  std::vector<torch::Tensor> out;
  for (auto& p : parts) out.push_back(torch::cat(p).narrow(0, 0, count));
  return out;
}

TensorMap Executor::apply_function(int node, const TensorMap& inputs) {
  const NodeEntry& n = graph_.nodes.at(node);
  if (n.kind() != NodeKind::Function || !functions_[node])
    throw std::logic_error(n.name + " is not a function node");
  torch::NoGradGuard no_grad;
  context_->begin_sampling();
  TensorMap out;
  try {
    const Context::Computing computing(*context_, node);
    out = functions_[node]->forward(inputs, *context_);
  } catch (const std::exception& e) {
    context_->end_sampling();
    throw NodeFailure(describe(n) + " failed: " + message_of(e), n.pointer);
  }
  context_->end_sampling();
  check_outputs(node, out);
  return out;
}

std::vector<torch::Tensor> Executor::sample_draw(const std::vector<PortRef>& refs, std::uint64_t draw) {
  std::vector<char> needed(graph_.nodes.size(), 0);
  for (const auto& ref : refs) needed[ref.node] = 1;
  for (auto it = plan_.order.rbegin(); it != plan_.order.rend(); ++it)
    if (needed[*it])
      for (const auto& [port, r] : graph_.nodes[*it].inputs) needed[r.node] = 1;
  for (size_t m = 0; m < modules_.size(); ++m) sampling_module(static_cast<int>(m))->eval();
  context_->begin_sampling(draw);
  std::vector<torch::Tensor> out;
  try {
    torch::NoGradGuard no_grad;
    std::map<int, Value> cache;
    for (int v : plan_.order)
      if (needed[v]) compute(v, *context_, cache, true);
    for (const auto& ref : refs) out.push_back(cache.at(ref.node).outputs.at(ref.port));
  } catch (...) {
    end_sampling();
    throw;
  }
  end_sampling();
  return out;
}

void Executor::end_sampling() {
  context_->end_sampling();
  for (size_t m = 0; m < modules_.size(); ++m) sampling_module(static_cast<int>(m))->train();
}

void Executor::save(torch::serialize::OutputArchive& archive) const {
  for (size_t m = 0; m < modules_.size(); ++m) {
    torch::serialize::OutputArchive sub;
    modules_[m]->save(sub);
    archive.write("module/" + graph_.modules[m].name, sub);
    if (ema_[m]) {
      torch::serialize::OutputArchive e;
      ema_[m]->save(e);
      archive.write("ema/" + graph_.modules[m].name, e);
    }
  }
  for (size_t o = 0; o < optimizers_.size(); ++o) {
    torch::serialize::OutputArchive sub;
    optimizers_[o].optimizer->save(sub);
    archive.write(graph_.optimizers[o].checkpoint_key(), sub);
  }
  archive.write("rng/engine", context_->generator_.get_state());
  for (const auto& [node, gen] : context_->node_generators_)
    archive.write("rng/node/" + graph_.nodes[node].name, gen.get_state());
  for (size_t i = 0; i < functions_.size(); ++i) {
    if (!functions_[i]) continue;
    const TensorMap state = functions_[i]->state_tensors();
    if (state.empty()) continue;
    torch::serialize::OutputArchive sub;
    for (const auto& [key, t] : state) sub.write(key, t);
    archive.write("state/" + graph_.nodes[i].name, sub);
  }
  archive.write("stages", torch::tensor(stage_, torch::kLong));
  {
    auto cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    archive.write("rng/torch", cpu.get_state());
  }
  archive.write("versions", torch::tensor(module_version_, torch::kLong));
  archive.write("images_seen", torch::tensor(images_seen_, torch::kLong));
}

namespace {

/// Every parameter or buffer whose stored shape differs from the module's, mirroring how
/// torch::nn::Module::save nests its archives (own tensors, then one archive per child).
void shape_mismatches(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                      const std::string& prefix, std::vector<std::string>& out) {
  auto check = [&](const std::string& key, const torch::Tensor& have, bool buffer) {
    torch::Tensor stored;
    if (archive.try_read(key, stored, buffer) && stored.sizes() != have.sizes())
      out.push_back(prefix + key + " is " + c10::str(stored.sizes()) + " in the checkpoint but " +
                    c10::str(have.sizes()) + " in the graph");
  };
  for (const auto& p : module.named_parameters(false)) check(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(false)) check(b.key(), b.value(), true);
  for (const auto& c : module.named_children()) {
    torch::serialize::InputArchive child;
    if (archive.try_read(c.key(), child)) shape_mismatches(*c.value(), child, prefix + c.key() + ".", out);
  }
}

/// The first tensor of `module` whose shape the archive does not match, with how many more do
/// not; "" when all fit.
std::string shape_mismatch(torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  std::vector<std::string> all;
  shape_mismatches(module, archive, "", all);
  if (all.empty()) return {};
  return all.front() +
         (all.size() > 1 ? " (and " + std::to_string(all.size() - 1) + " more)" : std::string());
}

/// Loads module `m`'s starting weights from the checkpoint its "weights" entry names.
void load_weights(const ModuleEntry& m, torch::nn::Module& net, torch::Device device) {
  const std::string where = m.pointer + "/weights";
  const auto named = named_checkpoint(m.weights.from);
  if (!named)
    throw UserError(m.weights.from, where,
                    "no such run directory or checkpoint file (relative paths start at the current "
                    "directory): train that run first with ganglion run, or fix the path");
  if (named->file.empty())
    throw UserError(m.weights.from, where,
                    "the run directory has no checkpoints yet: train it first (ganglion run GRAPH), "
                    "or name a checkpoint file");
  const std::string& file = named->file;
  torch::serialize::InputArchive archive, sub;
  try {
    archive.load_from(file, device);
  } catch (const std::exception&) {
    throw UserError(file, where, "not a readable Ganglion checkpoint (corrupt or truncated)");
  }
  if (!archive.try_read("module/" + m.weights.module, sub))
    throw UserError(file, where,
                    "the checkpoint has no module \"" + m.weights.module +
                        "\": name the module it holds with {\"from\": ..., \"module\": NAME}");
  const std::string mismatch = shape_mismatch(net, sub);
  if (!mismatch.empty())
    throw UserError(file, where,
                    "module " + m.weights.module + " does not fit module " + m.name + " of this graph: " +
                        mismatch + " (are the params the same as in the run that trained it?)");
  try {
    net.load(sub);
  } catch (const std::exception& e) {
    throw UserError(file, where,
                    "module " + m.weights.module + " does not fit module " + m.name + ": " + message_of(e));
  }
}

}  // namespace

void Executor::load(torch::serialize::InputArchive& archive, const std::string& file) {
  std::string what = "";
  try {
    // A module that had grown is grown to the same stage first, so that its weights and its
    // optimisers' state fit.
    what = "stages";
    torch::Tensor stages;
    if (archive.try_read("stages", stages) && stages.numel() == static_cast<int64_t>(stage_.size()))
      for (size_t m = 0; m < stage_.size(); ++m) {
        const std::int64_t stage = stages[m].item<std::int64_t>();
        if (stage > stage_[m]) grow_to(static_cast<int>(m), stage);
      }
    for (size_t m = 0; m < modules_.size(); ++m) {
      what = "module " + graph_.modules[m].name;
      torch::serialize::InputArchive sub;
      archive.read("module/" + graph_.modules[m].name, sub);
      const std::string mismatch = shape_mismatch(*modules_[m], sub);
      if (!mismatch.empty())
        throw UserError(
            file, "",
            "the checkpoint does not fit this graph: module " + graph_.modules[m].name + ": " + mismatch);
      modules_[m]->load(sub);
      if (ema_[m]) {
        torch::serialize::InputArchive e;
        archive.read("ema/" + graph_.modules[m].name, e);
        ema_[m]->load(e);
      }
    }
    for (size_t o = 0; o < optimizers_.size(); ++o) {
      const OptimizerEntry& entry = graph_.optimizers[o];
      what = entry.named ? "optimizer " + entry.name : "optimizer of phase " + entry.name;
      torch::serialize::InputArchive sub;
      archive.read(entry.checkpoint_key(), sub);
      optimizers_[o].optimizer->load(sub);
    }
    what = "random state";
    torch::Tensor state;
    archive.read("rng/engine", state);
    context_->generator_.set_state(state.to(torch::kCPU));
    context_->node_generators_.clear();
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      torch::Tensor node_state;
      if (!archive.try_read("rng/node/" + graph_.nodes[i].name, node_state)) continue;
      context_->generator_of(static_cast<int>(i)).set_state(node_state.to(torch::kCPU));
    }
    what = "node state";
    for (size_t i = 0; i < functions_.size(); ++i) {
      torch::serialize::InputArchive sub;
      if (!functions_[i] || !archive.try_read("state/" + graph_.nodes[i].name, sub)) continue;
      TensorMap tensors;
      for (const auto& key : sub.keys()) {
        torch::Tensor t;
        sub.read(key, t);
        tensors[key] = t;
      }
      functions_[i]->restore_tensors(tensors);
    }
    archive.read("rng/torch", state);
    {
      auto cpu = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(cpu.mutex());
      cpu.set_state(state.to(torch::kCPU));
    }
    torch::Tensor versions;
    archive.read("versions", versions);
    if (versions.numel() == static_cast<int64_t>(module_version_.size()))
      for (size_t m = 0; m < module_version_.size(); ++m) module_version_[m] = versions[m].item<int64_t>();
    // Checkpoints from before images were counted resume from 0.
    torch::Tensor seen;
    images_seen_ = archive.try_read("images_seen", seen) ? seen.item<std::int64_t>() : 0;
  } catch (const UserError&) {
    throw;
  } catch (const NodeFailure& e) {
    throw UserError(graph_.file, e.pointer(), std::string(e.what()) + " (resuming from " + file + ")");
  } catch (const std::exception& e) {
    throw UserError(file, "", "the checkpoint does not fit this graph (" + what + "): " + message_of(e));
  }
  // Gradient tracking flags follow the parameters just loaded.
  tracking_.assign(modules_.size(), 2);
}

std::map<std::string, std::string> Executor::node_states() const {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    std::string state;
    if (prefetchers_[i])
      state = prefetchers_[i]->position();
    else if (sources_[i])
      state = sources_[i]->position();
    else if (functions_[i])
      state = functions_[i]->state();
    if (!state.empty()) out[graph_.nodes[i].name] = state;
  }
  return out;
}

void Executor::restore_node_states(const std::map<std::string, std::string>& states) {
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    auto it = states.find(graph_.nodes[i].name);
    if (it == states.end() || it->second.empty()) continue;
    try {
      if (prefetchers_[i])
        prefetchers_[i]->seek(it->second);
      else if (sources_[i])
        sources_[i]->seek(it->second);
      else if (functions_[i])
        functions_[i]->restore(it->second);
    } catch (const std::exception& e) {
      throw UserError(describe(graph_.nodes[i]) + " cannot continue from the checkpoint: " + message_of(e));
    }
  }
}

}  // namespace ganglion
