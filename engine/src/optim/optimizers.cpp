#include "ganglion/engine/optimizers.h"

#include "ganglion/engine/fused_adam.h"

#include <torch/optim/adam.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <stdexcept>

namespace ganglion {

namespace {

/// `spec` adjusted for an optimiser that a lazy phase also steps, every N iterations: StyleGAN2-ADA
/// scales lr by N/(N+1) and raises Adam's betas to that power, so that the moments decay per
/// image as they would without the extra steps.
OptimizerSpec lazy_adjusted(OptimizerSpec spec, const OptimizerEntry& entry) {
  if (entry.lazy_interval == 0) return spec;
  const double r = entry.lazy_ratio();
  spec.lr *= r;
  if (spec.type == "adam") {
    spec.beta1 = std::pow(spec.beta1, r);
    spec.beta2 = std::pow(spec.beta2, r);
  }
  return spec;
}

std::unique_ptr<torch::optim::OptimizerOptions> options_for(const OptimizerSpec& o) {
  if (o.type == "adam")
    return std::make_unique<torch::optim::AdamOptions>(
        torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  if (o.type == "sgd")
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  if (o.type == "rmsprop")
    return std::make_unique<torch::optim::RMSpropOptions>(torch::optim::RMSpropOptions(o.lr)
                                                              .alpha(o.alpha)
                                                              .eps(o.eps)
                                                              .momentum(o.momentum)
                                                              .weight_decay(o.weight_decay));
  throw std::logic_error("unknown optimizer " + o.type);  // the loader rejects these first
}

}  // namespace

/// The first multiplier whose prefix starts `name`, or null.
static const NetModule::LearningRateMultiplier* multiplier_of(
    const std::string& name, const std::vector<NetModule::LearningRateMultiplier>& multipliers) {
  for (const auto& m : multipliers)
    if (name.compare(0, m.prefix.size(), m.prefix) == 0) return &m;
  return nullptr;
}

long OptimizerLayout::place(int group, const std::string& name,
                            const std::vector<NetModule::LearningRateMultiplier>& multipliers) const {
  const auto* m = multiplier_of(name, multipliers);
  if (!m) return group;
  for (const auto& part : parts)
    if (part.group == group && part.prefix == m->prefix) return static_cast<long>(part.index);
  return -1;
}

BuiltOptimizer make_optimizer(const OptimizerEntry& entry,
                              const std::vector<std::shared_ptr<NetModule>>& modules,
                              const ModuleMultipliers& multipliers) {
  // All groups share the optimiser's type (the loader allows per-module settings, not per-module
  // types).
  const std::string& type = entry.spec.type;
  for (const auto& u : entry.groups)
    if (u.optimizer.type != type)
      throw std::invalid_argument("one optimizer has one type, but its groups list " + type + " and " +
                                  u.optimizer.type);
  BuiltOptimizer built;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<std::pair<std::vector<torch::Tensor>, OptimizerSpec>> extra;
  for (size_t i = 0; i < entry.groups.size(); ++i) {
    const UpdateEntry& u = entry.groups[i];
    const auto& declared = multipliers.at(u.module);
    const OptimizerSpec spec = lazy_adjusted(u.optimizer, entry);
    if (declared.empty()) {  // the common case, as before multipliers existed
      groups.emplace_back(modules.at(u.module)->parameters(), options_for(spec));
      continue;
    }
    std::vector<torch::Tensor> own;
    for (const auto& p : modules.at(u.module)->named_parameters()) {
      const auto* m = multiplier_of(p.key(), declared);
      if (!m) {
        own.push_back(p.value());
        continue;
      }
      long index = built.layout.place(static_cast<int>(i), p.key(), declared);
      if (index < 0) {
        OptimizerSpec scaled = spec;
        scaled.lr *= m->multiplier;
        index = static_cast<long>(entry.groups.size() + extra.size());
        built.layout.parts.push_back(
            {static_cast<int>(i), m->prefix, m->multiplier, static_cast<size_t>(index)});
        extra.push_back({{}, scaled});
      }
      extra[index - entry.groups.size()].first.push_back(p.value());
    }
    groups.emplace_back(own, options_for(spec));
  }
  for (auto& [params, spec] : extra) groups.emplace_back(params, options_for(spec));
  auto defaults = options_for(lazy_adjusted(entry.spec, entry));
  if (type == "adam")
    built.optimizer = std::make_unique<FusedAdam>(groups, static_cast<torch::optim::AdamOptions&>(*defaults));
  else if (type == "sgd")
    built.optimizer =
        std::make_unique<torch::optim::SGD>(groups, static_cast<torch::optim::SGDOptions&>(*defaults));
  else
    built.optimizer = std::make_unique<torch::optim::RMSprop>(
        groups, static_cast<torch::optim::RMSpropOptions&>(*defaults));
  return built;
}

void add_parameters(BuiltOptimizer& built, int group,
                    const std::vector<std::pair<std::string, torch::Tensor>>& parameters,
                    const std::vector<NetModule::LearningRateMultiplier>& multipliers) {
  auto& groups = built.optimizer->param_groups();
  for (const auto& [name, p] : parameters) {
    long index = built.layout.place(group, name, multipliers);
    if (index < 0) {
      // A part that appears only now: its own group, from the module's group's settings.
      const auto* m = multiplier_of(name, multipliers);
      auto options = groups[group].options().clone();
      options->set_lr(options->get_lr() * m->multiplier);
      built.optimizer->add_param_group(torch::optim::OptimizerParamGroup({p}, std::move(options)));
      built.layout.parts.push_back({group, m->prefix, m->multiplier, groups.size() - 1});
      continue;
    }
    groups[index].params().push_back(p);
  }
}

void apply_lr_schedules(torch::optim::Optimizer& optimizer, const OptimizerEntry& entry,
                        const OptimizerLayout& layout, std::int64_t step, std::int64_t last_step) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < entry.groups.size() && i < groups.size(); ++i) {
    const OptimizerSpec& o = entry.groups[i].optimizer;
    if (o.schedule != "constant")
      groups[i].options().set_lr(o.lr * entry.lazy_ratio() * o.lr_factor(step, last_step));
  }
  for (const auto& part : layout.parts) {
    const OptimizerSpec& o = entry.groups[part.group].optimizer;
    if (o.schedule != "constant" && part.index < groups.size())
      groups[part.index].options().set_lr(o.lr * part.multiplier * entry.lazy_ratio() *
                                          o.lr_factor(step, last_step));
  }
}

double OptimizerSpec::lr_factor(std::int64_t step, std::int64_t last_step) const {
  if (schedule == "linear") {
    const std::int64_t stop = end > 0 ? end : std::max(last_step, start + 1);
    if (step <= start) return 1.0;
    if (step >= stop) return to;
    const double t = double(step - start) / double(stop - start);
    return 1.0 + (to - 1.0) * t;
  }
  if (schedule == "step") return std::pow(gamma, double((step - 1) / every));
  return 1.0;
}

}  // namespace ganglion
