// pix2pix's PatchGAN discriminator (its official code's NLayerDiscriminator): a score for every
// overlapping patch instead of one per image, 70x70 patches with the default 3 layers (1, 16, 34,
// 70, 142 pixels for 0 to 4). The losses average the map.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <ganglion/plugin.h>

#include "nets/input_checks.h"

#include "nets/patch_blocks.h"

namespace ganglion::nets {

class PatchganDiscriminator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/patchgan-discriminator", NodeKind::Module)
        .doc(
            "PatchGAN: 4x4 convolutions (stride 2, then 1) with LeakyReLU 0.2 scoring each patch of the "
            "image; with 3 layers a score sees 70x70 pixels")
        .input("image", DType::Float, "B,C,H,W",
               "image to score (pix2pix: the input and an output, concatenated)")
        .output("score", DType::Float, "B,1,P,Q", "a logit per patch")
        .param_int("in_channels", 3, 1, 1024, "channels of the input image")
        .param_int("filters", 64, 1, 4096, "channels of the first layer; doubled per layer up to 8x")
        .param_int("layers", 3, 0, 8,
                   "stride-2 layers after the first: 3 sees 70x70 patches, 0 is a 1x1 PixelGAN")
        .param_string("norm", std::string("batch"), "batch, instance or none");
  }

  explicit PatchganDiscriminator(const NodeSetup& s) : in_channels_(s.params.integer("in_channels")) {
    using namespace torch::nn;
    const std::string norm = s.params.text("norm");
    check_norm(norm);
    const bool bias = conv_bias(norm);
    const int64_t f = s.params.integer("filters"), layers = s.params.integer("layers");
    const auto lrelu = [] { return LeakyReLU(LeakyReLUOptions().negative_slope(0.2)); };
    if (layers == 0) {
      // PixelGAN: 1x1 convolutions, a score per pixel.
      body_->push_back(Conv2d(Conv2dOptions(in_channels_, f, 1)));
      body_->push_back(lrelu());
      body_->push_back(Conv2d(Conv2dOptions(f, 2 * f, 1).bias(bias)));
      body_->push_back(norm_layer(norm, 2 * f));
      body_->push_back(lrelu());
      body_->push_back(Conv2d(Conv2dOptions(2 * f, 1, 1).bias(bias)));
    } else {
      for (auto& block : patch_blocks(in_channels_, f, layers, norm, 1))
        for (const auto& layer : *block) body_->push_back(layer);
    }
    register_module("body", body_);
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& x = in.at("image");
    check_in_channels(x.size(1), in_channels_,
                      "pix2pix's D sees the input and the output concatenated: their channels added");
    return {{"score", body_->forward(x)}};
  }

 private:
  int64_t in_channels_;
  torch::nn::Sequential body_;
};

}  // namespace ganglion::nets

void register_patchgan_discriminator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::PatchganDiscriminator>());
}
