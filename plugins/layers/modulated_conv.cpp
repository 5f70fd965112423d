#include "layers/modulated_conv.h"

#include <torch/nn/functional/conv.h>

#include <cmath>

#include "layers/upfirdn2d.h"

namespace ganglion::layers {

namespace F = torch::nn::functional;

ModulatedConv2dImpl::ModulatedConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t w_dim,
                                         bool demodulate, bool up, std::vector<double> filter_taps)
    : kernel_(kernel),
      demodulate_(demodulate),
      up_(up),
      weight_gain_(1.0 / std::sqrt(static_cast<double>(in * kernel * kernel))) {
  // The style starts at 1 (bias 1), so an untrained mapping leaves the weights as they are.
  affine_ = register_module("affine", EqualLinear(w_dim, in, Activation::Linear, 1.0, 1.0));
  weight_ = register_parameter("weight", torch::randn({out, in, kernel, kernel}));
  if (up) filter_ = register_buffer("filter", fir_filter(filter_taps));
}

torch::Tensor ModulatedConv2dImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
  auto styles = affine_->forward(w);  // [B, in]
  auto weight = weight_ * weight_gain_;
  auto y = x * styles.unsqueeze(2).unsqueeze(3);
  if (up_) y = upsample2d(y, filter_);
  y = F::conv2d(y, weight, F::Conv2dFuncOptions().padding(kernel_ / 2));
  if (demodulate_) {
    // 1 / |w'| per sample and output channel, with w' = weight * style: sum over inputs and taps.
    auto energy = torch::matmul(styles.square(), weight.square().sum({2, 3}).t());  // [B, out]
    y = y * (energy + 1e-8).rsqrt().unsqueeze(2).unsqueeze(3);
  }
  return y;
}

}  // namespace ganglion::layers
