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

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerEntry& entry, const std::vector<std::shared_ptr<torch::nn::Module>>& modules) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const auto& u : entry.groups)
    groups.emplace_back(modules.at(u.module)->parameters(), options_for(lazy_adjusted(u.optimizer, entry)));
  // All groups share the optimiser's type (the loader allows per-module settings, not per-module
  // types).
  const std::string& type = entry.spec.type;
  for (const auto& u : entry.groups)
    if (u.optimizer.type != type)
      throw std::invalid_argument("one optimizer has one type, but its groups list " + type + " and " +
                                  u.optimizer.type);
  auto defaults = options_for(lazy_adjusted(entry.spec, entry));
  if (type == "adam")
    return std::make_unique<FusedAdam>(groups, static_cast<torch::optim::AdamOptions&>(*defaults));
  if (type == "sgd")
    return std::make_unique<torch::optim::SGD>(groups, static_cast<torch::optim::SGDOptions&>(*defaults));
  return std::make_unique<torch::optim::RMSprop>(groups,
                                                 static_cast<torch::optim::RMSpropOptions&>(*defaults));
}

void apply_lr_schedules(torch::optim::Optimizer& optimizer, const OptimizerEntry& entry, std::int64_t step,
                        std::int64_t last_step) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < entry.groups.size() && i < groups.size(); ++i) {
    const OptimizerSpec& o = entry.groups[i].optimizer;
    if (o.schedule != "constant")
      groups[i].options().set_lr(o.lr * entry.lazy_ratio() * o.lr_factor(step, last_step));
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
