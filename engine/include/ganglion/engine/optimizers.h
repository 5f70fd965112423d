// Optimisers from the graph's optimizer entries: one param group per module (and per part of a
// module with its own lr multiplier), each with its settings, adjusted for a lazy phase, with the
// learning-rate schedules applied per step.
#pragma once

#include <ganglion/node.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

/// Where the parameters of an optimiser's modules sit among its torch param groups: group i is
/// entry.groups[i]'s module, followed by one extra group per part of a module that declares a
/// learning-rate multiplier (NetModule::learning_rate_multipliers).
struct OptimizerLayout {
  struct Part {
    int group = -1;  ///< index into OptimizerEntry::groups (the module)
    std::string prefix;
    double multiplier = 1.0;
    size_t index = 0;  ///< the torch param group
  };
  std::vector<Part> parts;

  /// The torch param group of parameter `name` of entry group `group`, or -1 when `multipliers`
  /// gives it a part that has no group yet.
  long place(int group, const std::string& name,
             const std::vector<NetModule::LearningRateMultiplier>& multipliers) const;
};

/// The multipliers of each module, by module index (empty where it declares none).
using ModuleMultipliers = std::vector<std::vector<NetModule::LearningRateMultiplier>>;

struct BuiltOptimizer {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  OptimizerLayout layout;
};

/// The optimiser of `entry`, over the parameters of the modules its groups name.
BuiltOptimizer make_optimizer(const OptimizerEntry& entry,
                              const std::vector<std::shared_ptr<NetModule>>& modules,
                              const ModuleMultipliers& multipliers);

/// Adds parameters a module has just made (it grew) to the groups they belong to, making the group
/// of a part that did not exist before.
void add_parameters(BuiltOptimizer& built, int group,
                    const std::vector<std::pair<std::string, torch::Tensor>>& parameters,
                    const std::vector<NetModule::LearningRateMultiplier>& multipliers);

/// Sets each group's learning rate for iteration `step` of a run ending at `last_step`, where a
/// group's schedule is not constant.
void apply_lr_schedules(torch::optim::Optimizer& optimizer, const OptimizerEntry& entry,
                        const OptimizerLayout& layout, std::int64_t step, std::int64_t last_step);

}  // namespace ganglion
