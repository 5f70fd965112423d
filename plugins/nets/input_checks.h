// Checks shared by the nets: how many stride-2 layers separate 4x4 from a power-of-two resolution,
// and whether an input has the width a param promised.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ganglion::nets {

/// Whether `port` is among the inputs a graph connects (NodeSetup::inputs): a net whose optional
/// inputs choose its shape (MidiNet's model, SPADE's z) reads them when it is made.
inline bool connected(const std::vector<std::string>& inputs, const std::string& port) {
  return std::find(inputs.begin(), inputs.end(), port) != inputs.end();
}

/// Doublings from 4x4 to `resolution`, which must be a power of two of at least 8; `advice` ends
/// the error.
inline int power_of_two_doublings(long long resolution, const char* param,
                                  const char* advice = "use a power of two of at least 8") {
  int n = 0;
  long long r = resolution;
  while (r > 4 && r % 2 == 0) r /= 2, ++n;
  if (r != 4 || n == 0)
    throw std::invalid_argument(std::string("param ") + param + " is " + std::to_string(resolution) + ": " +
                                advice);
  return n;
}

/// The same for the DCGAN nets, which also take 28 (handled by their caller).
inline int doublings_from_4(long long resolution, const char* param) {
  return power_of_two_doublings(resolution, param, "use 28 or a power of two of at least 8");
}

/// Feature maps at resolution `resolution` of the StyleGAN and Progressive GAN nets:
/// channel_base / resolution, at most channel_max, at least 1.
inline int64_t feature_maps(int64_t resolution, int64_t channel_base, int64_t channel_max) {
  return std::max<int64_t>(1, std::min(channel_base / resolution, channel_max));
}

/// Throws std::invalid_argument when an image input of `channels` x `height` x `width` is not the
/// square `resolution` the net's params make.
inline void check_image_size(int64_t channels, int64_t height, int64_t width, int64_t want_channels,
                             int64_t resolution) {
  if (channels != want_channels || height != resolution || width != resolution)
    throw std::invalid_argument("input image is " + std::to_string(channels) + "x" + std::to_string(height) +
                                "x" + std::to_string(width) + " but params channels and resolution make " +
                                std::to_string(want_channels) + "x" + std::to_string(resolution) + "x" +
                                std::to_string(resolution));
}

/// Throws std::invalid_argument naming the input and the param when `got` (an input's width along
/// its feature axis) is not `want`.
inline void check_width(int64_t got, int64_t want, const char* input, const char* param) {
  if (got != want)
    throw std::invalid_argument(std::string("input ") + input + " has " + std::to_string(got) +
                                " features but param " + param + " is " + std::to_string(want));
}

/// Throws std::invalid_argument when an image input has `got` channels where param in_channels
/// says `want`; `why` (if any) ends the message with the likely cause.
inline void check_in_channels(int64_t got, int64_t want, const std::string& why = {}) {
  if (got != want)
    throw std::invalid_argument("input image has " + std::to_string(got) +
                                " channels but param in_channels is " + std::to_string(want) +
                                (why.empty() ? std::string() : " (" + why + ")"));
}

}  // namespace ganglion::nets
