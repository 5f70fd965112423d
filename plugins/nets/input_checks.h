// Checks shared by the nets: how many stride-2 layers separate 4x4 from a power-of-two resolution,
// and whether an input has the width a param promised.
#pragma once

#include <cstdint>
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

/// Doublings from 4x4 to `resolution`, which must be a power of two of at least 8.
inline int power_of_two_doublings(long long resolution, const char* param) {
  int n = 0;
  long long r = resolution;
  while (r > 4 && r % 2 == 0) r /= 2, ++n;
  if (r != 4 || n == 0)
    throw std::invalid_argument(std::string("param ") + param + " is " + std::to_string(resolution) +
                                ": use a power of two of at least 8");
  return n;
}

/// Throws std::invalid_argument naming the input and the param when `got` (an input's width along
/// its feature axis) is not `want`.
inline void check_width(int64_t got, int64_t want, const char* input, const char* param) {
  if (got != want)
    throw std::invalid_argument(std::string("input ") + input + " has " + std::to_string(got) +
                                " features but param " + param + " is " + std::to_string(want));
}

}  // namespace ganglion::nets
