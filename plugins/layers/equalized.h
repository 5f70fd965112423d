// The layers of Progressive GAN and StyleGAN2 with an equalised learning rate (Karras et al.
// 2018): weights drawn from N(0, 1) / lr_mul and scaled at every call by lr_mul / sqrt(fan_in),
// so that Adam's step moves every layer at the same relative speed. `lr_mul` slows a part down
// (StyleGAN's mapping network at 0.01). The activation is StyleGAN2's bias_act: leaky ReLU 0.2
// times sqrt(2), which keeps the signal's magnitude.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace ganglion::layers {

enum class Activation { Linear, LeakyRelu };

/// act(x + bias) with the gain sqrt(2) for the leaky ReLU; bias may be undefined. `channel_dim`
/// is the dimension the bias runs along.
torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& bias, Activation activation,
                       int64_t channel_dim = 1);

class EqualLinearImpl : public torch::nn::Module {
 public:
  EqualLinearImpl(int64_t in, int64_t out, Activation activation = Activation::Linear, double lr_mul = 1.0,
                  double bias_init = 0.0);
  torch::Tensor forward(const torch::Tensor& x);
  /// The weight as the call uses it (scaled): [out, in].
  torch::Tensor scaled_weight() const { return weight_ * weight_gain_; }

 private:
  torch::Tensor weight_, bias_;
  Activation activation_;
  double weight_gain_, bias_gain_;
};
TORCH_MODULE(EqualLinear);

/// A k x k convolution, same padding, optionally halving the size first through the FIR filter
/// (`down`: blur, then stride 2, as StyleGAN2's conv2d_resample).
class EqualConv2dImpl : public torch::nn::Module {
 public:
  EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, Activation activation = Activation::LeakyRelu,
                  bool bias = true, bool down = false, std::vector<double> filter_taps = {1, 3, 3, 1});
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_, bias_, filter_;
  int64_t kernel_;
  Activation activation_;
  bool down_;
  double weight_gain_;
};
TORCH_MODULE(EqualConv2d);

}  // namespace ganglion::layers
