// The Progressive GAN discriminator (Karras et al. 2018): the mirror of the generator. It reads
// the image at the target resolution, averages it down to the stage's, and applies fromRGB and
// one block per stage (two 3x3 convolutions, then 2x2 average pooling) down to 4x4, where the
// minibatch standard deviation, a 3x3 convolution, a 4x4 one without padding (a fully connected
// layer on 4x4) and a linear layer give one score.
// While the newest block fades in, its path is blended by alpha with the fromRGB of the block
// before on the image averaged down once more. Equalised learning rate, leaky ReLU, no
// normalisation (WGAN-GP's penalty would not allow batch statistics).
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/container/modulelist.h>

#include <ganglion/plugin.h>

#include "layers/equalized.h"
#include "layers/minibatch_stddev.h"
#include "nets/input_checks.h"

namespace ganglion::nets {

namespace {

namespace F = torch::nn::functional;
using layers::Activation;

torch::Tensor average_down(const torch::Tensor& x, int64_t factor) {
  if (factor == 1) return x;
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(factor));
}

class ShrinkBlockImpl : public torch::nn::Module {
 public:
  ShrinkBlockImpl(int64_t in, int64_t out)
      : conv0_(register_module("conv0", layers::EqualConv2d(in, in, 3))),
        conv1_(register_module("conv1", layers::EqualConv2d(in, out, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return average_down(conv1_->forward(conv0_->forward(x)), 2);
  }

 private:
  layers::EqualConv2d conv0_, conv1_;
};
TORCH_MODULE(ShrinkBlock);

}  // namespace

class ProganDiscriminator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/progan-discriminator", NodeKind::Module)
        .doc(
            "Progressive GAN discriminator: grows a block per stage in front, fromRGB per stage faded "
            "in by a schedule, minibatch standard deviation, one score per image (no sigmoid)")
        .input("image", DType::Float, "B,C,H,W", "image at the target resolution")
        .output("score", DType::Float, "B", "critic score")
        .param_int("resolution", 64, 8, 4096, "target image side, a power of two: the last stage's")
        .param_int("channels", 3, 1, 64, "channels of the image")
        .param_int("channel_base", 8192, 1, 1 << 24, "feature maps at resolution r: channel_base / r ...")
        .param_int("channel_max", 512, 1, 65536, "... at most this")
        .param_int("mbstd_group", 4, 1, 1024, "samples per minibatch standard deviation group")
        .param_schedule("fade", "the schedule whose value is the newest block's weight alpha; none: 1");
  }

  explicit ProganDiscriminator(const NodeSetup& setup) {
    const auto& p = setup.params;
    resolution_ = p.integer("resolution");
    channels_ = p.integer("channels");
    base_ = p.integer("channel_base");
    max_ = p.integer("channel_max");
    group_ = p.integer("mbstd_group");
    fade_ = p.text("fade");
    stages_ = power_of_two_doublings(resolution_, "resolution");
    const int64_t ch = channels_at(4);
    from_rgb_->push_back(layers::EqualConv2d(channels_, ch, 1));
    conv_ = register_module("conv", layers::EqualConv2d(ch + 1, ch, 3));
    fc_ = register_module("fc", layers::EqualLinear(ch * 16, ch, Activation::LeakyRelu));
    out_ = register_module("out", layers::EqualLinear(ch, 1));
    register_module("blocks", blocks_);
    register_module("from_rgb", from_rgb_);
  }

  void grow(std::int64_t stage) override {
    if (stage > stages_)
      throw std::invalid_argument("stage " + std::to_string(stage) + " is past the target resolution " +
                                  std::to_string(resolution_) + ": end the grow schedule at " +
                                  std::to_string(stages_));
    if (stage != static_cast<int64_t>(blocks_->size()) + 1)
      throw std::logic_error("grown out of order to stage " + std::to_string(stage));
    const int64_t res = int64_t{4} << stage;
    blocks_->push_back(ShrinkBlock(channels_at(res), channels_at(res / 2)));
    from_rgb_->push_back(layers::EqualConv2d(channels_, channels_at(res), 1));
  }

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    const auto& image = in.at("image");
    check_image_size(image.size(1), image.size(2), image.size(3), channels_, resolution_);
    const int64_t stage = static_cast<int64_t>(blocks_->size());
    const double alpha = fade_.empty() ? 1.0 : std::clamp(context.schedule(fade_), 0.0, 1.0);
    const auto at_stage = average_down(image, resolution_ / (int64_t{4} << stage));
    auto x = rgb(stage, at_stage);
    if (stage > 0) {
      x = blocks_[stage - 1]->as<ShrinkBlockImpl>()->forward(x);
      if (alpha < 1.0) x = rgb(stage - 1, average_down(at_stage, 2)).lerp(x, alpha);
      for (int64_t s = stage - 2; s >= 0; --s) x = blocks_[s]->as<ShrinkBlockImpl>()->forward(x);
    }
    x = conv_->forward(layers::minibatch_stddev(x, group_, 1));
    x = fc_->forward(x.flatten(1));  // the paper's 4x4 convolution without padding: 4x4 -> 1x1
    return {{"score", out_->forward(x).squeeze(1)}};
  }

 private:
  int64_t channels_at(int64_t res) const { return feature_maps(res, base_, max_); }
  torch::Tensor rgb(int64_t stage, const torch::Tensor& x) {
    return from_rgb_[stage]->as<layers::EqualConv2dImpl>()->forward(x);
  }

  int64_t resolution_, channels_, base_, max_, group_;
  int stages_;
  std::string fade_;
  torch::nn::ModuleList blocks_, from_rgb_;
  layers::EqualConv2d conv_{nullptr};
  layers::EqualLinear fc_{nullptr}, out_{nullptr};
};

}  // namespace ganglion::nets

void register_progan_discriminator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::ProganDiscriminator>());
}
