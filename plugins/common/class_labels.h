// The range check of integer class labels, shared by the nodes that index with them (a class
// embedding, a cross-entropy loss).
#pragma once

#include <torch/types.h>

#include <stdexcept>
#include <string>

namespace ganglion {

/// Throws std::invalid_argument "`what` holds class X, outside 0..classes-1 (`why`)" when a label is
/// out of range. Checked on the CPU only: on the GPU the check would wait for the device, and the
/// kernel's own assertion fires there instead.
inline void check_class_range(const torch::Tensor& label, int64_t classes, const std::string& what,
                              const std::string& why) {
  if (!label.is_cpu() || label.numel() == 0) return;
  const auto low = label.min().item<int64_t>(), high = label.max().item<int64_t>();
  if (low < 0 || high >= classes)
    throw std::invalid_argument(what + " holds class " + std::to_string(low < 0 ? low : high) +
                                ", outside 0.." + std::to_string(classes - 1) + " (" + why + ")");
}

}  // namespace ganglion
