// Shared by the DCGAN nets: how many stride-2 layers separate 4x4 from a power-of-two resolution.
#pragma once

#include <stdexcept>
#include <string>

namespace ganglion::nets {

inline int doublings_from_4(long long resolution, const char* param) {
  int n = 0;
  long long r = resolution;
  while (r > 4 && r % 2 == 0) r /= 2, ++n;
  if (r != 4 || n == 0)
    throw std::invalid_argument(std::string("param ") + param + " is " + std::to_string(resolution) +
                                ": use 28 or a power of two of at least 8");
  return n;
}

}  // namespace ganglion::nets
