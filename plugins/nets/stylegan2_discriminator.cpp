// The StyleGAN2 discriminator (Karras et al. 2020, config F's residual architecture, sized by
// params): fromRGB at the full resolution, then per resolution two 3x3 convolutions, the second
// halving the size through the FIR filter, with a 1x1 residual path scaled by sqrt(1/2); at 4x4
// the minibatch standard deviation (groups of 4), a convolution, and two fully connected layers
// to one logit per image. Equalised learning rate throughout.
#include <torch/nn/modules/container/modulelist.h>

#include <ganglion/plugin.h>

#include <cmath>

#include "layers/equalized.h"
#include "layers/minibatch_stddev.h"
#include "nets/input_checks.h"

namespace ganglion::nets {

namespace {

using layers::Activation;

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out)
      : conv0_(register_module("conv0", layers::EqualConv2d(in, in, 3))),
        conv1_(register_module("conv1", layers::EqualConv2d(in, out, 3, Activation::LeakyRelu, true, true))),
        skip_(register_module("skip", layers::EqualConv2d(in, out, 1, Activation::Linear, false, true))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return (skip_->forward(x) + conv1_->forward(conv0_->forward(x))) * std::sqrt(0.5);
  }

 private:
  layers::EqualConv2d conv0_, conv1_, skip_;
};
TORCH_MODULE(ResidualBlock);

}  // namespace

class StyleGan2Discriminator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/stylegan2-discriminator", NodeKind::Module)
        .doc(
            "StyleGAN2 discriminator: residual blocks with FIR downsampling, minibatch standard "
            "deviation, one logit per image")
        .input("image", DType::Float, "B,C,H,W", "image to score")
        .output("score", DType::Float, "B", "logit of real (for losses with logits)")
        .param_int("resolution", 64, 8, 4096, "image side, a power of two of at least 8")
        .param_int("channels", 3, 1, 64, "channels of the image")
        .param_int("channel_base", 32768, 1, 1 << 24, "feature maps at resolution r: channel_base / r ...")
        .param_int("channel_max", 512, 1, 65536, "... at most this")
        .param_int("mbstd_group", 4, 1, 1024,
                   "samples per minibatch standard deviation group (the batch must divide by it)")
        .param_int("mbstd_features", 1, 0, 64, "features of the minibatch standard deviation (0: none)");
  }

  explicit StyleGan2Discriminator(const NodeSetup& setup) {
    const auto& p = setup.params;
    resolution_ = p.integer("resolution");
    channels_ = p.integer("channels");
    const int doublings = power_of_two_doublings(resolution_, "resolution");
    const int64_t base = p.integer("channel_base"), max = p.integer("channel_max");
    const auto ch = [&](int64_t res) { return feature_maps(res, base, max); };
    group_ = p.integer("mbstd_group");
    features_ = p.integer("mbstd_features");
    from_rgb_ = register_module("from_rgb", layers::EqualConv2d(channels_, ch(resolution_), 1));
    for (int i = 0, res = static_cast<int>(resolution_); i < doublings; ++i, res /= 2)
      blocks_->push_back(ResidualBlock(ch(res), ch(res / 2)));
    register_module("blocks", blocks_);
    const int64_t c4 = ch(4);
    if (features_ > 0 && c4 % features_ != 0)
      throw std::invalid_argument("param mbstd_features (" + std::to_string(features_) +
                                  ") does not divide the " + std::to_string(c4) + " feature maps at 4x4");
    conv_ = register_module("conv", layers::EqualConv2d(c4 + features_, c4, 3));
    fc_ = register_module("fc", layers::EqualLinear(c4 * 16, c4, Activation::LeakyRelu));
    out_ = register_module("out", layers::EqualLinear(c4, 1));
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& image = in.at("image");
    check_image_size(image.size(1), image.size(2), image.size(3), channels_, resolution_);
    auto x = from_rgb_->forward(image);
    for (const auto& block : *blocks_) x = block->as<ResidualBlockImpl>()->forward(x);
    if (features_ > 0) x = layers::minibatch_stddev(x, group_, features_);
    x = conv_->forward(x);
    x = fc_->forward(x.flatten(1));
    return {{"score", out_->forward(x).squeeze(1)}};
  }

 private:
  int64_t resolution_, channels_, group_, features_;
  layers::EqualConv2d from_rgb_{nullptr}, conv_{nullptr};
  torch::nn::ModuleList blocks_;
  layers::EqualLinear fc_{nullptr}, out_{nullptr};
};

}  // namespace ganglion::nets

void register_stylegan2_discriminator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::StyleGan2Discriminator>());
}
