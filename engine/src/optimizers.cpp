#include "ganglion/engine/optimizers.h"

#include "ganglion/engine/fused_adam.h"

#include <torch/optim/adam.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <stdexcept>

namespace ganglion {

namespace {

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
    const std::vector<UpdateEntry>& update, const std::vector<std::shared_ptr<torch::nn::Module>>& modules) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const auto& u : update)
    groups.emplace_back(modules.at(u.module)->parameters(), options_for(u.optimizer));
  // All modules of a phase share the phase's optimiser type (the loader allows per-module
  // settings, not per-module types); the first entry decides it.
  const std::string& type = update.front().optimizer.type;
  for (const auto& u : update)
    if (u.optimizer.type != type)
      throw std::invalid_argument("one phase uses one optimizer type, but it lists " + type + " and " +
                                  u.optimizer.type);
  auto defaults = options_for(update.front().optimizer);
  if (type == "adam")
    return std::make_unique<FusedAdam>(groups, static_cast<torch::optim::AdamOptions&>(*defaults));
  if (type == "sgd")
    return std::make_unique<torch::optim::SGD>(groups, static_cast<torch::optim::SGDOptions&>(*defaults));
  return std::make_unique<torch::optim::RMSprop>(groups,
                                                 static_cast<torch::optim::RMSpropOptions&>(*defaults));
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
