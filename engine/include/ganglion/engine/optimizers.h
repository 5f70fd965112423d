// Optimisers from a phase's update list: one param group per module, each with its settings.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<UpdateEntry>& update, const std::vector<std::shared_ptr<torch::nn::Module>>& modules);

}  // namespace ganglion
