#include "layers/equalized.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/linear.h>

#include <cmath>

#include "layers/upfirdn2d.h"

namespace ganglion::layers {

namespace F = torch::nn::functional;

torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& bias, Activation activation,
                       int64_t channel_dim) {
  torch::Tensor y = x;
  if (bias.defined()) {
    std::vector<int64_t> shape(x.dim(), 1);
    shape[channel_dim] = -1;
    y = y + bias.view(shape);
  }
  if (activation == Activation::LeakyRelu)
    y = F::leaky_relu(y, F::LeakyReLUFuncOptions().negative_slope(0.2)) * std::sqrt(2.0);
  return y;
}

EqualLinearImpl::EqualLinearImpl(int64_t in, int64_t out, Activation activation, double lr_mul,
                                 double bias_init)
    : activation_(activation), weight_gain_(lr_mul / std::sqrt(static_cast<double>(in))), bias_gain_(lr_mul) {
  weight_ = register_parameter("weight", torch::randn({out, in}) / lr_mul);
  bias_ = register_parameter("bias", torch::full({out}, bias_init / lr_mul));
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& x) {
  auto y = F::linear(x, weight_ * weight_gain_);
  return bias_act(y, bias_ * bias_gain_, activation_, y.dim() - 1);
}

EqualConv2dImpl::EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, Activation activation, bool bias,
                                 bool down, std::vector<double> filter_taps)
    : kernel_(kernel),
      activation_(activation),
      down_(down),
      weight_gain_(1.0 / std::sqrt(static_cast<double>(in * kernel * kernel))) {
  weight_ = register_parameter("weight", torch::randn({out, in, kernel, kernel}));
  if (bias) bias_ = register_parameter("bias", torch::zeros({out}));
  if (down) filter_ = register_buffer("filter", fir_filter(filter_taps));
}

torch::Tensor EqualConv2dImpl::forward(const torch::Tensor& x) {
  const auto weight = weight_ * weight_gain_;
  torch::Tensor y;
  if (down_) {
    // Blur so that the strided convolution does not alias: the padding centres the filter and
    // the kernel, and the output is half the size (StyleGAN2's conv2d_resample).
    const int64_t pad = (filter_.size(0) - 2) + (kernel_ - 1);
    const int64_t before = (pad + 1) / 2, after = pad / 2;
    y = upfirdn2d(x, filter_, 1, 1, {before, after, before, after});
    y = F::conv2d(y, weight, F::Conv2dFuncOptions().stride(2));
  } else {
    y = F::conv2d(x, weight, F::Conv2dFuncOptions().padding(kernel_ / 2));
  }
  return bias_act(y, bias_, activation_);
}

}  // namespace ganglion::layers
