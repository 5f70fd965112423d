// Optimisers from the graph's optimizer entries: one param group per module, each with its
// settings, adjusted for a lazy phase, with the learning-rate schedules applied per step.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

/// The optimiser of `entry`, over the parameters of the modules its groups name.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerEntry& entry, const std::vector<std::shared_ptr<torch::nn::Module>>& modules);

/// Sets each group's learning rate for iteration `step` of a run ending at `last_step`, where a
/// group's schedule is not constant.
void apply_lr_schedules(torch::optim::Optimizer& optimizer, const OptimizerEntry& entry, std::int64_t step,
                        std::int64_t last_step);

}  // namespace ganglion
