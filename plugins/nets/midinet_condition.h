// How MidiNet's nets join a 1-D condition (the chord) to a layer: appended to a vector, or as
// constant maps behind a layer's maps.
#pragma once

#include <torch/torch.h>

#include <string>

namespace ganglion::nets {

/// `h` ([B, F] or [B, C, H, W]) with condition `y` ([B, Y]) joined; `h` itself when `y` is undefined.
inline torch::Tensor with_condition(const torch::Tensor& h, const torch::Tensor& y) {
  if (!y.defined()) return h;
  if (h.dim() == 2) return torch::cat({h, y}, 1);
  return torch::cat(
      {h, y.view({y.size(0), y.size(1), 1, 1}).expand({y.size(0), y.size(1), h.size(2), h.size(3)})}, 1);
}

/// Input "chord" of `in` where the net reads one (`width` > 0), checked against param chord_dim.
inline torch::Tensor chord_input(const std::map<std::string, torch::Tensor>& in, int64_t width) {
  if (width == 0) return {};
  const torch::Tensor& y = in.at("chord");
  if (y.dim() != 2 || y.size(1) != width)
    throw std::invalid_argument("input chord is " + c10::str(y.sizes()) + "; param chord_dim is " +
                                std::to_string(width));
  return y;
}

}  // namespace ganglion::nets
