// The upsampler family: layers a generator doubles its feature maps with, chosen per graph through
// a Layer param (nets/dcgan-generator's "upsampler"). Each maps in_channels x in_size to
// out_channels x out_size, out_size = 2 * in_size or 2 * in_size - 1 (DCGAN's 4 -> 7 at 28x28).
//  - transposed-conv: ConvTranspose2d k4 s2 p1 (k3 for the odd size), DCGAN's own; known for
//    checkerboard artefacts where kernel and stride do not divide (Odena et al. 2016).
//  - nearest-conv, bilinear-conv: resize, then a 3x3 convolution (Odena et al.'s remedy).
//  - pixel-shuffle: a 3x3 convolution to 4x the channels, then sub-pixel shuffling (Shi et al.
//    2016), its weights initialised ICNR-style (Aitken et al. 2017) so it starts like nearest.
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pixelshuffle.h>

#include <ganglion/plugin.h>

#include "layers/transposed_conv.h"

namespace ganglion::layers {

namespace {

void check_doubling(const LayerArgs& a, const std::string& type) {
  // Both axes double alike: the transposed convolution's one kernel serves both.
  if (a.in_h() != a.in_w() || a.out_h() != a.out_w())
    throw std::invalid_argument(type + " takes square maps, not " + std::to_string(a.in_h()) + "x" +
                                std::to_string(a.in_w()) + " to " + std::to_string(a.out_h()) + "x" +
                                std::to_string(a.out_w()));
  if (a.in_h() < 1 || (a.out_h() != 2 * a.in_h() && a.out_h() != 2 * a.in_h() - 1))
    throw std::invalid_argument(type + " doubles the size (or doubles it less one), not " +
                                std::to_string(a.in_h()) + " to " + std::to_string(a.out_h()));
}

/// Resize to the output size, then a 3x3 convolution.
class ResizeConvImpl : public torch::nn::Cloneable<ResizeConvImpl> {
 public:
  ResizeConvImpl(const LayerArgs& a, bool bilinear, bool bias) : args_(a), bilinear_(bilinear), bias_(bias) {
    reset();
  }
  void reset() override {
    conv = register_module(
        "conv",
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(args_.in_channels, args_.out_channels, 3).padding(1).bias(bias_)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{args_.out_h(), args_.out_w()});
    if (bilinear_)
      options.mode(torch::kBilinear).align_corners(false);
    else
      options.mode(torch::kNearest);
    return conv->forward(F::interpolate(x, options));
  }
  torch::nn::Conv2d conv{nullptr};

 private:
  LayerArgs args_;
  bool bilinear_, bias_;
};
TORCH_MODULE(ResizeConv);

/// A 3x3 convolution to 4x the channels, pixel shuffle, and a crop to an odd output size.
class PixelShuffleUpImpl : public torch::nn::Cloneable<PixelShuffleUpImpl> {
 public:
  PixelShuffleUpImpl(const LayerArgs& a, bool icnr, bool bias) : args_(a), icnr_(icnr), bias_(bias) {
    reset();
  }
  void reset() override {
    conv = register_module(
        "conv",
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(args_.in_channels, 4 * args_.out_channels, 3).padding(1).bias(bias_)));
    if (icnr_) {
      // Every output pixel's 2x2 block starts from the same kernel: no checkerboard at the start.
      torch::NoGradGuard no_grad;
      const auto base = conv->weight.narrow(0, 0, args_.out_channels).clone();
      conv->weight.copy_(base.repeat_interleave(4, 0));
    }
    shuffle = register_module("shuffle", torch::nn::PixelShuffle(torch::nn::PixelShuffleOptions(2)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = shuffle->forward(conv->forward(x));
    return y.size(2) == args_.out_h() && y.size(3) == args_.out_w()
               ? y
               : y.narrow(2, 0, args_.out_h()).narrow(3, 0, args_.out_w());
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::PixelShuffle shuffle{nullptr};

 private:
  LayerArgs args_;
  bool icnr_, bias_;
};
TORCH_MODULE(PixelShuffleUp);

Contract upsampler(const char* type, const char* doc) {
  return Contract(type, NodeKind::Layer)
      .family("upsampler")
      .doc(doc)
      .param_bool("bias", false, "a bias in the convolution (off where BatchNorm follows)");
}

}  // namespace

void register_upsamplers(TypeRegistrar& r) {
  r.add(layer_type(
      upsampler("upsamplers/transposed-conv",
                "ConvTranspose2d, kernel 4 stride 2 padding 1 (kernel 3 for 2n-1): DCGAN's upsampler")
          .param_string("method", std::string("auto"),
                        "how it is computed, all the same function: auto, torch, subpixel, phases or "
                        "matmul (layers::TransposedConv2d)"),
      [](const NodeSetup& s, const LayerArgs& a) {
        check_doubling(a, "upsamplers/transposed-conv");
        const int64_t kernel = a.out_h() == 2 * a.in_h() ? 4 : 3;
        return torch::nn::AnyModule(
            TransposedConv2d(TransposedConv2dOptions(a.in_channels, a.out_channels, kernel)
                                 .stride(2)
                                 .padding(1)
                                 .bias(s.params.flag("bias"))
                                 .method(parse_transposed_conv_method(s.params.text("method")))));
      }));
  r.add(layer_type(upsampler("upsamplers/nearest-conv", "nearest-neighbour resize, then a 3x3 convolution"),
                   [](const NodeSetup& s, const LayerArgs& a) {
                     check_doubling(a, "upsamplers/nearest-conv");
                     return torch::nn::AnyModule(ResizeConv(a, false, s.params.flag("bias")));
                   }));
  r.add(layer_type(upsampler("upsamplers/bilinear-conv", "bilinear resize, then a 3x3 convolution"),
                   [](const NodeSetup& s, const LayerArgs& a) {
                     check_doubling(a, "upsamplers/bilinear-conv");
                     return torch::nn::AnyModule(ResizeConv(a, true, s.params.flag("bias")));
                   }));
  r.add(layer_type(
      upsampler("upsamplers/pixel-shuffle",
                "3x3 convolution to 4x the channels, then pixel shuffle (sub-pixel convolution)")
          .param_bool("icnr", true, "initialise ICNR-style, so that it starts without checkerboard"),
      [](const NodeSetup& s, const LayerArgs& a) {
        check_doubling(a, "upsamplers/pixel-shuffle");
        return torch::nn::AnyModule(PixelShuffleUp(a, s.params.flag("icnr"), s.params.flag("bias")));
      }));
}

}  // namespace ganglion::layers

GANGLION_PLUGIN("layers", GANGLION_VERSION) { ganglion::layers::register_upsamplers(registrar); }
