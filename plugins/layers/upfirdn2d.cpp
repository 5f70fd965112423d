#include "layers/upfirdn2d.h"

#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/padding.h>

#include <stdexcept>
#include <string>

namespace ganglion::layers {

namespace F = torch::nn::functional;

torch::Tensor fir_filter(const std::vector<double>& taps) {
  if (taps.empty()) throw std::invalid_argument("a FIR filter needs at least one tap");
  auto f = torch::tensor(taps, torch::kFloat);
  auto kernel = torch::outer(f, f);
  return kernel / kernel.sum();
}

namespace {

void check_arguments(const torch::Tensor& x, const torch::Tensor& filter, int64_t up, int64_t down,
                     const Padding2d& padding) {
  if (x.dim() != 4) throw std::invalid_argument("upfirdn2d: x must be [N, C, H, W]");
  if (filter.dim() != 2) throw std::invalid_argument("upfirdn2d: the filter must be 2-D");
  if (up < 1 || down < 1) throw std::invalid_argument("upfirdn2d: up and down must be at least 1");
  const int64_t height = x.size(2) * up + padding[2] + padding[3] - filter.size(0) + 1;
  const int64_t width = x.size(3) * up + padding[0] + padding[1] - filter.size(1) + 1;
  if (height < 1 || width < 1)
    throw std::invalid_argument("upfirdn2d: the filter (" + std::to_string(filter.size(0)) + "x" +
                                std::to_string(filter.size(1)) + ") does not fit the padded " +
                                std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) + " input");
}

}  // namespace

torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& filter, int64_t up, int64_t down,
                        Padding2d padding, double gain) {
  check_arguments(x, filter, up, down, padding);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor y = x;
  if (up > 1) {  // zeros between the pixels: [N, C, H, 1, W, 1] padded to [N, C, H, up, W, up]
    y = y.reshape({n, c, h, 1, w, 1});
    y = F::pad(y, F::PadFuncOptions({0, up - 1, 0, 0, 0, up - 1}));
    y = y.reshape({n, c, h * up, w * up});
  }
  // Pad where positive, then crop where negative.
  y = F::pad(y, F::PadFuncOptions({std::max<int64_t>(padding[0], 0), std::max<int64_t>(padding[1], 0),
                                   std::max<int64_t>(padding[2], 0), std::max<int64_t>(padding[3], 0)}));
  y = y.slice(2, std::max<int64_t>(-padding[2], 0), y.size(2) - std::max<int64_t>(-padding[3], 0))
          .slice(3, std::max<int64_t>(-padding[0], 0), y.size(3) - std::max<int64_t>(-padding[1], 0));
  // conv2d correlates: flip the kernel for a convolution; one copy per channel (depthwise).
  auto kernel = (filter * gain).flip({0, 1}).to(y.dtype()).to(y.device());
  kernel = kernel.view({1, 1, filter.size(0), filter.size(1)}).repeat({c, 1, 1, 1});
  y = F::conv2d(y, kernel, F::Conv2dFuncOptions().groups(c));
  if (down > 1) y = y.slice(2, 0, y.size(2), down).slice(3, 0, y.size(3), down);
  return y;
}

torch::Tensor upfirdn2d_reference(const torch::Tensor& x, const torch::Tensor& filter, int64_t up,
                                  int64_t down, Padding2d padding, double gain) {
  check_arguments(x, filter, up, down, padding);
  const auto in = x.to(torch::kDouble).contiguous();
  const auto f = filter.to(torch::kDouble).contiguous();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t kh = f.size(0), kw = f.size(1);
  const int64_t out_h = (h * up + padding[2] + padding[3] - kh) / down + 1;
  const int64_t out_w = (w * up + padding[0] + padding[1] - kw) / down + 1;
  auto out = torch::zeros({n, c, out_h, out_w}, torch::kDouble);
  auto src = in.accessor<double, 4>();
  auto dst = out.accessor<double, 4>();
  auto k = f.accessor<double, 2>();
  // Input pixel i lands at i * up + pad in the padded signal; output pixel o reads the window
  // starting at o * down, where the flipped kernel's tap is the place in that window.
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t iy = 0; iy < h; ++iy)
        for (int64_t ix = 0; ix < w; ++ix) {
          const int64_t py = iy * up + padding[2], px = ix * up + padding[0];
          for (int64_t oy = 0; oy < out_h; ++oy) {
            const int64_t ty = py - oy * down;
            if (ty < 0 || ty >= kh) continue;
            for (int64_t ox = 0; ox < out_w; ++ox) {
              const int64_t tx = px - ox * down;
              if (tx < 0 || tx >= kw) continue;
              dst[b][ch][oy][ox] += gain * src[b][ch][iy][ix] * k[kh - 1 - ty][kw - 1 - tx];
            }
          }
        }
  return out;
}

torch::Tensor upsample2d(const torch::Tensor& x, const torch::Tensor& filter) {
  const int64_t taps = filter.size(0), up = 2;
  const int64_t before = (taps + up - 1) / 2, after = (taps - up) / 2;
  return upfirdn2d(x, filter, up, 1, {before, after, before, after}, static_cast<double>(up * up));
}

torch::Tensor downsample2d(const torch::Tensor& x, const torch::Tensor& filter) {
  const int64_t taps = filter.size(0), down = 2;
  const int64_t before = (taps - down + 1) / 2, after = (taps - down) / 2;
  return upfirdn2d(x, filter, 1, down, {before, after, before, after});
}

}  // namespace ganglion::layers
