// CycleGAN's ResNet generator (Zhu et al. 2017, after Johnson et al. 2016; its official code's
// ResnetGenerator): a 7x7 convolution, two stride-2 3x3 convolutions down, `blocks` residual
// blocks at a quarter of the size (reflection padding, two 3x3 convolutions each), two transposed
// convolutions up, a 7x7 convolution and tanh. Fully convolutional: any size that is a multiple of 4.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/padding.h>

#include <ganglion/plugin.h>

#include "nets/input_checks.h"

#include "nets/norm_layer.h"

namespace ganglion::nets {

namespace {

/// x + (reflect-pad, 3x3 conv, norm, ReLU, [dropout], reflect-pad, 3x3 conv, norm)(x).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t channels, const std::string& norm, double dropout) {
    using namespace torch::nn;
    const bool bias = conv_bias(norm);
    body_->push_back(ReflectionPad2d(1));
    body_->push_back(Conv2d(Conv2dOptions(channels, channels, 3).bias(bias)));
    body_->push_back(norm_layer(norm, channels));
    body_->push_back(ReLU());
    if (dropout > 0) body_->push_back(Dropout(dropout));
    body_->push_back(ReflectionPad2d(1));
    body_->push_back(Conv2d(Conv2dOptions(channels, channels, 3).bias(bias)));
    body_->push_back(norm_layer(norm, channels));
    register_module("body", body_);
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + body_->forward(x); }

 private:
  torch::nn::Sequential body_;
};
TORCH_MODULE(ResidualBlock);

}  // namespace

class ResnetGenerator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/resnet-generator", NodeKind::Module)
        .doc(
            "CycleGAN's ResNet generator: 7x7 conv, two stride-2 convs down, residual blocks, two transposed "
            "convs up, 7x7 conv, tanh; reflection padding")
        .input("image", DType::Float, "B,C,H,W", "the image to translate; H and W multiples of 4")
        .output("image", DType::Float, "B,D,H,W", "the translated image in [-1, 1], D = out_channels")
        .param_int("in_channels", 3, 1, 1024, "channels of the input")
        .param_int("out_channels", 3, 1, 1024, "channels of the output")
        .param_int("filters", 64, 1, 4096, "channels of the first layer (4x in the residual blocks)")
        .param_int("blocks", 9, 0, 64, "residual blocks: CycleGAN's 9 at 256x256, 6 at 128x128")
        .param_string("norm", std::string("instance"), "instance (CycleGAN's), batch or none")
        .param_float("dropout", 0.0, 0.0, 0.95, "dropout inside each residual block (CycleGAN: off)");
  }

  explicit ResnetGenerator(const NodeSetup& s) : in_channels_(s.params.integer("in_channels")) {
    using namespace torch::nn;
    const std::string norm = s.params.text("norm");
    check_norm(norm);
    const bool bias = conv_bias(norm);
    const int64_t f = s.params.integer("filters");
    body_->push_back(ReflectionPad2d(3));
    body_->push_back(Conv2d(Conv2dOptions(in_channels_, f, 7).bias(bias)));
    body_->push_back(norm_layer(norm, f));
    body_->push_back(ReLU());
    for (int64_t m = 1; m <= 2; m *= 2) {
      body_->push_back(Conv2d(Conv2dOptions(f * m, f * m * 2, 3).stride(2).padding(1).bias(bias)));
      body_->push_back(norm_layer(norm, f * m * 2));
      body_->push_back(ReLU());
    }
    for (int64_t b = 0; b < s.params.integer("blocks"); ++b)
      body_->push_back(ResidualBlock(4 * f, norm, s.params.real("dropout")));
    for (int64_t m = 4; m >= 2; m /= 2) {
      body_->push_back(ConvTranspose2d(
          ConvTranspose2dOptions(f * m, f * m / 2, 3).stride(2).padding(1).output_padding(1).bias(bias)));
      body_->push_back(norm_layer(norm, f * m / 2));
      body_->push_back(ReLU());
    }
    body_->push_back(ReflectionPad2d(3));
    body_->push_back(Conv2d(Conv2dOptions(f, s.params.integer("out_channels"), 7)));
    body_->push_back(Tanh());
    register_module("body", body_);
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& x = in.at("image");
    check_in_channels(x.size(1), in_channels_);
    if (x.size(2) % 4 != 0 || x.size(3) % 4 != 0 || x.size(2) < 4 || x.size(3) < 4)
      throw std::invalid_argument("input image is " + std::to_string(x.size(2)) + "x" +
                                  std::to_string(x.size(3)) +
                                  ": the ResNet generator takes sides that are multiples of 4");
    return {{"image", body_->forward(x)}};
  }

 private:
  int64_t in_channels_;
  torch::nn::Sequential body_;
};

}  // namespace ganglion::nets

void register_resnet_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::ResnetGenerator>());
}
