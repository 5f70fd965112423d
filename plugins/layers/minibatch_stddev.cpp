#include "layers/minibatch_stddev.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ganglion::layers {

torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group_size, int64_t features) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t g = std::min(group_size, b);
  if (b % g != 0)
    throw std::invalid_argument("minibatch standard deviation: the batch (" + std::to_string(b) +
                                ") does not divide into groups of " + std::to_string(g));
  if (c % features != 0)
    throw std::invalid_argument("minibatch standard deviation: " + std::to_string(c) +
                                " channels do not split into " + std::to_string(features) + " features");
  auto y = x.reshape({g, -1, features, c / features, h, w});
  y = y - y.mean(0);
  y = (y.square().mean(0) + 1e-8).sqrt();  // [B/G, F, C/F, H, W]
  y = y.mean({2, 3, 4});                   // [B/G, F]
  y = y.reshape({-1, features, 1, 1}).repeat({g, 1, h, w});
  return torch::cat({x, y}, 1);
}

}  // namespace ganglion::layers
