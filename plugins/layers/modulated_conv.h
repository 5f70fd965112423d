// StyleGAN2's modulated convolution (Karras et al. 2020, section 2.2): each sample's style scales
// the weight's input channels, and demodulation rescales each output channel to unit expected
// magnitude, which replaces AdaIN without its droplet artifacts. Computed as StyleGAN2-ADA does
// while training: the activations are scaled instead of the weights (one convolution for the
// whole batch, not one per sample), which is the same sum.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "layers/equalized.h"

namespace ganglion::layers {

class ModulatedConv2dImpl : public torch::nn::Module {
 public:
  /// `up`: double the size first through the FIR filter. `demodulate` false for toRGB.
  ModulatedConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t w_dim, bool demodulate = true,
                      bool up = false, std::vector<double> filter_taps = {1, 3, 3, 1});
  /// x [B, in, H, W], w [B, w_dim]: [B, out, H', W'] before bias and activation.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w);

 private:
  EqualLinear affine_{nullptr};
  torch::Tensor weight_, filter_;
  int64_t kernel_;
  bool demodulate_, up_;
  double weight_gain_;
};
TORCH_MODULE(ModulatedConv2d);

}  // namespace ganglion::layers
