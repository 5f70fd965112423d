// upfirdn2d, StyleGAN2's resampling op: upsample by inserting zeros, pad (or crop, for negative
// padding), filter with a 2-D FIR kernel, downsample by keeping every `down`-th pixel. Written with
// torch ops (a depthwise convolution), so autograd differentiates it to any order; a direct
// implementation that loops over the input's pixels is kept beside it for the tests.
#pragma once

#include <torch/types.h>

#include <array>
#include <vector>

namespace ganglion::layers {

/// Padding before and after each axis: {left, right, top, bottom}, in pixels of the upsampled
/// image; negative values crop.
using Padding2d = std::array<int64_t, 4>;

/// The separable 2-D kernel of 1-D taps ([1, 3, 3, 1]): their outer product, normalised to sum 1.
torch::Tensor fir_filter(const std::vector<double>& taps);

/// x [N, C, H, W]; filter [kh, kw] (a true convolution: the kernel is flipped); the result is
/// multiplied by `gain`. Output height: (H * up + top + bottom - kh) / down + 1.
torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& filter, int64_t up, int64_t down,
                        Padding2d padding, double gain = 1.0);

/// The same sum written pixel by pixel, in double precision: out[y][x] = gain * sum over input
/// pixels i of in[i] * filter[k], where k is i's place in the window of output pixel y. Slow; for tests.
torch::Tensor upfirdn2d_reference(const torch::Tensor& x, const torch::Tensor& filter, int64_t up,
                                  int64_t down, Padding2d padding, double gain = 1.0);

/// Doubles H and W: zero insertion, then the filter with gain 4 (StyleGAN2's upsample2d).
torch::Tensor upsample2d(const torch::Tensor& x, const torch::Tensor& filter);
/// Halves H and W (even sizes): the filter, then every second pixel (StyleGAN2's downsample2d).
torch::Tensor downsample2d(const torch::Tensor& x, const torch::Tensor& filter);

}  // namespace ganglion::layers
