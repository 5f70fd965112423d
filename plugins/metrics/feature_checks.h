// Checks shared by the metrics that compare two sets of feature vectors.
#pragma once

#include <torch/types.h>

#include <stdexcept>
#include <string>

namespace ganglion::metrics {

/// The `real` and `fake` features as float64 on the CPU, after checking that both are N x F with
/// the same F and at least `min_rows` rows.
inline std::pair<torch::Tensor, torch::Tensor> feature_pair(const torch::Tensor& real,
                                                            const torch::Tensor& fake, int64_t min_rows) {
  for (const auto* t : {&real, &fake})
    if (t->dim() != 2)
      throw std::invalid_argument("features must be N x F (a classifier's \"features\" output), not " +
                                  c10::str(t->sizes()));
  if (real.size(1) != fake.size(1))
    throw std::invalid_argument("real features have " + std::to_string(real.size(1)) +
                                " columns, fake ones " + std::to_string(fake.size(1)) +
                                ": read both from the same network output");
  if (real.size(0) < min_rows || fake.size(0) < min_rows)
    throw std::invalid_argument("needs at least " + std::to_string(min_rows) + " samples of each, got " +
                                std::to_string(real.size(0)) + " real and " + std::to_string(fake.size(0)) +
                                " fake: draw more (ganglion eval --samples N)");
  return {real.detach().to(torch::kCPU, torch::kDouble), fake.detach().to(torch::kCPU, torch::kDouble)};
}

}  // namespace ganglion::metrics
