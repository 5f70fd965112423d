// pix2pix's U-Net generator (Isola et al. 2017, its official code's UnetGenerator): `depth`
// stride-2 4x4 convolutions down to 1x1 at the input size 2^depth, as many transposed
// convolutions back up, each decoder level fed the encoder's map of its size beside its own
// (the skip connections), dropout as the generator's noise near the bottleneck, tanh out.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include <ganglion/plugin.h>

#include "nets/input_checks.h"

#include "nets/norm_layer.h"

namespace ganglion::nets {

class UnetGenerator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/unet-generator", NodeKind::Module)
        .doc(
            "pix2pix U-Net: depth 4x4 stride-2 convolutions down (LeakyReLU 0.2), as many transposed "
            "convolutions up (ReLU), each level's encoder map concatenated to the decoder's, dropout near "
            "the bottleneck, tanh")
        .input("image", DType::Float, "B,C,H,W", "the image to translate; H and W multiples of 2^depth")
        .output("image", DType::Float, "B,D,H,W", "the translated image in [-1, 1], D = out_channels")
        .param_int("in_channels", 3, 1, 1024, "channels of the input (3 for RGB, a label map's classes)")
        .param_int("out_channels", 3, 1, 1024, "channels of the output")
        .param_int("filters", 64, 1, 4096, "channels of the first layer; doubled per level up to 8x")
        .param_int("depth", 8, 2, 16,
                   "stride-2 levels: 8 takes 256x256 to 1x1 (pix2pix's), 6 takes 64x64 to 1x1")
        .param_string("norm", std::string("batch"), "batch, instance or none")
        .param_float("dropout", 0.5, 0.0, 0.95,
                     "dropout of the decoder levels at 8x filters next to the bottleneck (pix2pix: three "
                     "at depth 8), the generator's only noise; off while sampling (eval mode)");
  }

  explicit UnetGenerator(const NodeSetup& s)
      : depth_(s.params.integer("depth")), in_channels_(s.params.integer("in_channels")) {
    using namespace torch::nn;
    const std::string norm = s.params.text("norm");
    check_norm(norm);
    const bool bias = conv_bias(norm);
    const int64_t f = s.params.integer("filters"), n = depth_;
    const double dropout = s.params.real("dropout");
    // Level k maps o_k channels down to i_k and (in the decoder) back to o_k.
    const auto inner = [&](int64_t k) {
      return f * std::min<int64_t>(int64_t(1) << std::min<int64_t>(k, 3), 8);
    };
    for (int64_t k = 0; k < n; ++k) {
      const int64_t o = k == 0 ? in_channels_ : inner(k - 1), i = inner(k);
      const bool innermost = k == n - 1;
      Sequential down;
      if (k > 0) down->push_back(LeakyReLU(LeakyReLUOptions().negative_slope(0.2)));
      down->push_back(Conv2d(Conv2dOptions(o, i, 4).stride(2).padding(1).bias(bias)));
      if (k > 0 && !innermost) down->push_back(norm_layer(norm, i));
      Sequential up;
      up->push_back(ReLU());
      const int64_t up_in = innermost ? i : 2 * i;
      if (k == 0) {
        up->push_back(ConvTranspose2d(
            ConvTranspose2dOptions(up_in, s.params.integer("out_channels"), 4).stride(2).padding(1)));
        up->push_back(Tanh());
      } else {
        up->push_back(ConvTranspose2d(ConvTranspose2dOptions(up_in, o, 4).stride(2).padding(1).bias(bias)));
        up->push_back(norm_layer(norm, o));
        if (dropout > 0 && k >= 4 && !innermost) up->push_back(Dropout(dropout));
      }
      down_.push_back(register_module("down" + std::to_string(k), down));
      up_.push_back(register_module("up" + std::to_string(k), up));
    }
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& x = in.at("image");
    const int64_t step = int64_t(1) << depth_;
    check_in_channels(x.size(1), in_channels_);
    if (x.size(2) % step != 0 || x.size(3) % step != 0)
      throw std::invalid_argument("input image is " + std::to_string(x.size(2)) + "x" +
                                  std::to_string(x.size(3)) + ": a U-Net of depth " + std::to_string(depth_) +
                                  " takes sides that are multiples of " + std::to_string(step) +
                                  " (resize or crop the input, or lower param depth)");
    // Encoder maps e_k = down_k(e_{k-1}); the decoder climbs back, concatenating e_{k-1} to what
    // level k's up path made.
    std::vector<torch::Tensor> e;
    torch::Tensor h = x;
    for (auto& down : down_) e.push_back(h = down->forward(h));
    torch::Tensor y = e.back();
    for (int64_t k = depth_ - 1; k >= 1; --k) y = torch::cat({e[k - 1], up_[k]->forward(y)}, 1);
    return {{"image", up_[0]->forward(y)}};
  }

 private:
  int64_t depth_, in_channels_;
  std::vector<torch::nn::Sequential> down_, up_;
};

}  // namespace ganglion::nets

void register_unet_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::UnetGenerator>());
}
