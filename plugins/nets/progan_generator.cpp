// The Progressive GAN generator (Karras et al. 2018, "Progressive Growing of GANs"): from a
// pixel-normalised z, a 4x4 block, then one block per stage that doubles the resolution (nearest
// upsampling, two 3x3 convolutions, each followed by pixel norm), every layer with an equalised
// learning rate. The module grows a block each time its "grow" schedule rises; while the newest
// block fades in, its toRGB output is blended with the upsampled toRGB of the block before by the
// `fade` schedule's alpha. The image is always given at the target resolution (nearest
// upsampling from the stage's), so the graph's shapes never change while the net grows.
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/container/modulelist.h>

#include <ganglion/plugin.h>

#include "layers/equalized.h"
#include "layers/pixel_norm.h"
#include "nets/input_checks.h"

namespace ganglion::nets {

namespace {

namespace F = torch::nn::functional;
using layers::Activation;

torch::Tensor upsample(const torch::Tensor& x, int64_t factor) {
  if (factor == 1) return x;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{double(factor), double(factor)})
                               .mode(torch::kNearest)
                               .recompute_scale_factor(false));
}

/// Two 3x3 convolutions with pixel norm; the first doubles the size when `up`.
class GrowBlockImpl : public torch::nn::Module {
 public:
  GrowBlockImpl(int64_t in, int64_t out, bool up)
      : up_(up),
        conv0_(register_module("conv0", layers::EqualConv2d(in, out, 3))),
        conv1_(register_module("conv1", layers::EqualConv2d(out, out, 3))) {}
  torch::Tensor forward(torch::Tensor x) {
    if (up_) x = upsample(x, 2);
    x = layers::pixel_norm(conv0_->forward(x));
    return layers::pixel_norm(conv1_->forward(x));
  }

 private:
  bool up_;
  layers::EqualConv2d conv0_, conv1_;
};
TORCH_MODULE(GrowBlock);

}  // namespace

class ProganGenerator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/progan-generator", NodeKind::Module)
        .doc(
            "Progressive GAN generator: grows from 4x4 a block per stage, pixel norm, equalised "
            "learning rate, toRGB per stage faded in by a schedule; images at the target size")
        .input("z", DType::Float, "B,Z", "latent code (pixel-normalised inside)")
        .output("image", DType::Float, "B,C,H,W", "generated image at the target resolution")
        .param_int("z_dim", 512, 1, 65536, "length of the latent code")
        .param_int("resolution", 64, 8, 4096, "target image side, a power of two: the last stage's")
        .param_int("channels", 3, 1, 64, "channels of the image")
        .param_int("channel_base", 8192, 1, 1 << 24, "feature maps at resolution r: channel_base / r ...")
        .param_int("channel_max", 512, 1, 65536, "... at most this")
        .param_schedule("fade",
                        "the schedule whose value is the newest block's weight alpha (0 to 1) while it "
                        "fades in; none: 1");
  }

  explicit ProganGenerator(const NodeSetup& setup) {
    const auto& p = setup.params;
    z_dim_ = p.integer("z_dim");
    resolution_ = p.integer("resolution");
    channels_ = p.integer("channels");
    base_ = p.integer("channel_base");
    max_ = p.integer("channel_max");
    fade_ = p.text("fade");
    stages_ = power_of_two_doublings(resolution_, "resolution");
    const int64_t ch = channels_at(4);
    dense_ = register_module("dense", layers::EqualLinear(z_dim_, ch * 16, Activation::LeakyRelu));
    conv4_ = register_module("conv4", layers::EqualConv2d(ch, ch, 3));
    to_rgb_->push_back(layers::EqualConv2d(ch, channels_, 1, Activation::Linear));
    register_module("blocks", blocks_);
    register_module("to_rgb", to_rgb_);
  }

  void grow(std::int64_t stage) override {
    if (stage > stages_)
      throw std::invalid_argument("stage " + std::to_string(stage) + " is past the target resolution " +
                                  std::to_string(resolution_) + " (" + std::to_string(stages_) +
                                  " stages after 4x4): end the grow schedule at " + std::to_string(stages_));
    if (stage != static_cast<int64_t>(blocks_->size()) + 1)
      throw std::logic_error("grown out of order to stage " + std::to_string(stage));
    const int64_t res = int64_t{4} << stage;
    blocks_->push_back(GrowBlock(channels_at(res / 2), channels_at(res), true));
    to_rgb_->push_back(layers::EqualConv2d(channels_at(res), channels_, 1, Activation::Linear));
  }

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    const auto& z = in.at("z");
    check_width(z.size(1), z_dim_, "z", "z_dim");
    const int64_t stage = static_cast<int64_t>(blocks_->size());
    const double alpha = fade_.empty() ? 1.0 : std::clamp(context.schedule(fade_), 0.0, 1.0);
    auto x = dense_->forward(layers::pixel_norm(z)).view({z.size(0), -1, 4, 4});
    x = layers::pixel_norm(x);
    x = layers::pixel_norm(conv4_->forward(x));
    torch::Tensor before;
    for (int64_t s = 0; s < stage; ++s) {
      before = x;
      x = blocks_[s]->as<GrowBlockImpl>()->forward(x);
    }
    auto image = rgb(stage, x);
    if (stage > 0 && alpha < 1.0) image = upsample(rgb(stage - 1, before), 2).lerp(image, alpha);
    return {{"image", upsample(image, resolution_ / (int64_t{4} << stage))}};
  }

 private:
  int64_t channels_at(int64_t res) const { return feature_maps(res, base_, max_); }
  torch::Tensor rgb(int64_t stage, const torch::Tensor& x) {
    return to_rgb_[stage]->as<layers::EqualConv2dImpl>()->forward(x);
  }

  int64_t z_dim_, resolution_, channels_, base_, max_;
  int stages_;
  std::string fade_;
  layers::EqualLinear dense_{nullptr};
  layers::EqualConv2d conv4_{nullptr};
  torch::nn::ModuleList blocks_, to_rgb_;
};

}  // namespace ganglion::nets

void register_progan_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::ProganGenerator>());
}
