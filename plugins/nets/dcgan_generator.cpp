// The DCGAN generator. At resolution 28 its layers are exactly those of the pytorch/examples C++
// DCGAN; at a power-of-two resolution it follows Radford et al.: 4x4 from z, then doubling.
// The transposed convolutions are layers::TransposedConv2d: ConvTranspose2d's function and
// parameters, computed on LibTorch's fast convolution path.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <ganglion/plugin.h>

#include "layers/transposed_conv.h"
#include "nets/conditioning.h"
#include "nets/input_checks.h"

namespace ganglion::nets {

class DcganGenerator : public NetModule {
 public:
  static Contract contract() {
    Contract c("nets/dcgan-generator", NodeKind::Module);
    c.doc(
         "DCGAN generator: transposed convolutions with BatchNorm and ReLU, tanh output; conditional "
         "with classes or condition_dim")
        .input("z", DType::Float, "B,Z", "latent code")
        .output("image", DType::Float, "B,C,H,W", "generated image in [-1, 1]")
        .param_int("z_dim", 100, 1, 65536, "length of the latent code")
        .param_int("width", 64, 1, 4096, "channels of the last hidden layer; earlier layers double it")
        .param_int("channels", 1, 1, 64, "channels of the generated image")
        .param_int("resolution", 28, 8, 1024,
                   "image side: 28 (the pytorch/examples layers) or a power of two >= 8")
        .param_layer("upsampler", "upsampler", "upsamplers/transposed-conv",
                     "the layer that doubles the feature maps (every layer after the first): "
                     "upsamplers/transposed-conv (DCGAN's), nearest-conv, bilinear-conv or pixel-shuffle");
    conditioning_ports(c);
    return generator_conditioning_params(c);
  }

  explicit DcganGenerator(const NodeSetup& setup) : condition_(setup.params, *this) {
    const auto& p = setup.params;
    const int64_t w = p.integer("width"), c = p.integer("channels");
    const int64_t z = p.integer("z_dim") + condition_.width();
    const int64_t res = p.integer("resolution");
    using namespace torch::nn;
    z_dim_ = p.integer("z_dim");
    if (!setup.make_layer)
      throw std::logic_error("nets/dcgan-generator was made without the engine's layer factory");
    // z (1x1) to 4x4 is a projection, always a transposed convolution; every later layer doubles
    // the maps with the upsampler the graph chose (28 = 4 -> 7 -> 14 -> 28, else 4 -> 8 -> ...).
    std::vector<int64_t> sizes{4};
    if (res == 28)
      sizes.insert(sizes.end(), {7, 14, 28});
    else
      for (int i = 0, doublings = doublings_from_4(res, "resolution"); i < doublings; ++i)
        sizes.push_back(sizes.back() * 2);
    const size_t ups = sizes.size() - 1;  // upsampling layers, the last one making the image
    int64_t ch = res == 28 ? 4 * w : w << (ups - 1);
    body_->push_back(layers::TransposedConv2d(layers::TransposedConv2dOptions(z, ch, 4).bias(false)));
    add_norm(ch);
    for (size_t i = 0; i < ups; ++i) {
      const bool last = i + 1 == ups;
      const int64_t out = last ? c : (res == 28 && i == 0 ? 2 * w : ch / 2);
      body_->push_back(setup.make_layer("upsampler", LayerArgs{ch, out, sizes[i], sizes[i + 1]}));
      if (!last) add_norm(out);
      ch = out;
    }
    body_->push_back(Tanh());
    register_module("body", body_);
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& noise = in.at("z");
    check_width(noise.size(1), z_dim_, "z", "z_dim");
    const auto z = condition_.append(noise, in);
    return {{"image", body_->forward(z.view({z.size(0), z.size(1), 1, 1}))}};
  }

 private:
  void add_norm(int64_t channels) {
    body_->push_back(torch::nn::BatchNorm2d(channels));
    body_->push_back(torch::nn::ReLU());
  }
  GeneratorCondition condition_;
  int64_t z_dim_;
  torch::nn::Sequential body_;
};

}  // namespace ganglion::nets

void register_dcgan_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::DcganGenerator>());
}
