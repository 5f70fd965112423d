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
        .param_string(
            "transposed_conv", std::string("auto"),
            "how the transposed convolutions are computed, all the same function: auto (the "
            "fastest for the shape and device), torch (ConvTranspose2d), subpixel, phases or matmul");
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
    method_ = layers::parse_transposed_conv_method(p.text("transposed_conv"));
    if (res == 28) {
      add_up(layers::TransposedConv2dOptions(z, 4 * w, 4).bias(false));
      add_up(layers::TransposedConv2dOptions(4 * w, 2 * w, 3).stride(2).padding(1).bias(false));
      add_up(layers::TransposedConv2dOptions(2 * w, w, 4).stride(2).padding(1).bias(false));
      body_->push_back(layers::TransposedConv2d(
          layers::TransposedConv2dOptions(w, c, 4).stride(2).padding(1).bias(false).method(method_)));
    } else {
      const int doublings = doublings_from_4(res, "resolution");
      int64_t ch = w << (doublings - 1);
      add_up(layers::TransposedConv2dOptions(z, ch, 4).bias(false));
      for (int i = 1; i < doublings; ++i, ch /= 2)
        add_up(layers::TransposedConv2dOptions(ch, ch / 2, 4).stride(2).padding(1).bias(false));
      body_->push_back(layers::TransposedConv2d(
          layers::TransposedConv2dOptions(ch, c, 4).stride(2).padding(1).bias(false).method(method_)));
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
  void add_up(layers::TransposedConv2dOptions o) {
    body_->push_back(layers::TransposedConv2d(o.method(method_)));
    body_->push_back(torch::nn::BatchNorm2d(o.out_channels()));
    body_->push_back(torch::nn::ReLU());
  }
  GeneratorCondition condition_;
  int64_t z_dim_;
  layers::TransposedConvMethod method_ = layers::TransposedConvMethod::Auto;
  torch::nn::Sequential body_;
};

}  // namespace ganglion::nets

void register_dcgan_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::DcganGenerator>());
}
