// Reading one image file the way every image source of the plugin does: decoded by OpenCV, an
// alpha channel composited onto a background colour, as RGB floats in [0, 255] at the file's own
// size (the caller resizes, crops and converts).
#pragma once

#include <torch/types.h>
#include <opencv2/core/mat.hpp>

#include <array>
#include <string>

namespace ganglion::images {

/// An RGB colour in [0, 255].
using Colour = std::array<double, 3>;

/// "white", "black", "gray" or "#rrggbb"; std::invalid_argument naming param `param` otherwise.
Colour parse_colour(const std::string& text, const std::string& param = "background");

/// `file` as CV_32FC3 RGB in [0, 255], transparent parts showing `background`. Throws
/// std::runtime_error naming the file when OpenCV cannot decode it.
cv::Mat read_rgb(const std::string& file, const Colour& background);

/// `rgb` (CV_32FC3 in [0, 255]) as a C x H x W float tensor in [-1, 1], C = 3, or 1 (its luma,
/// as OpenCV's RGB2GRAY) when `channels` is 1, copied into `out`.
void to_tensor(const cv::Mat& rgb, int channels, torch::Tensor out);

/// Whether `path`'s extension is one OpenCV reads here (jpg, png, bmp, tif, webp, ppm, pgm, pbm).
bool has_image_extension(const std::string& path);

}  // namespace ganglion::images
