// SPADE's image encoder (Park et al. 2019, section 3.4 and its official ConvEncoder): a real
// image becomes the mean and log-variance of a Gaussian over the generator's codes, so that G
// paints a label map in that image's style (noise/reparameterize draws the code, and
// losses/kl-divergence keeps the codes near N(0, 1), from which a test-time code then gives a
// random style). Stride-2 3x3 convolutions with instance norm (spectral norm on the
// convolutions, SPADE's "spectralinstance"), leaky ReLU between them, and two linear layers. The
// official code first resizes every image to 256x256; here the image is taken at its own size
// (param size) and the number of convolutions follows it (five below 256, six from 256), so the
// last maps are size / 32 or size / 64 on a side.
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>

#include <ganglion/plugin.h>

#include "layers/spectral_norm.h"

namespace ganglion::nets {

namespace {

/// The convolutions apart from the rest, so that spectral norm wraps them and not the linear
/// layers (as the official encoder).
struct EncoderConvsImpl : torch::nn::Module {
  EncoderConvsImpl(int64_t nf, int64_t layers) {
    using namespace torch::nn;
    int64_t in = 3;
    for (int64_t i = 0; i < layers; ++i) {
      const int64_t out = nf * std::min<int64_t>(int64_t{1} << i, 8);
      convs.push_back(register_module("conv" + std::to_string(i),
                                      Conv2d(Conv2dOptions(in, out, 3).stride(2).padding(1))));
      in = out;
    }
  }
  std::vector<torch::nn::Conv2d> convs;
};
TORCH_MODULE(EncoderConvs);

}  // namespace

class SpadeEncoder : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/spade-encoder", NodeKind::Module)
        .doc(
            "SPADE's image encoder: stride-2 convolutions with instance and spectral norm, then the mean "
            "and log-variance of a code for nets/spade-generator's z")
        .input("image", DType::Float, "B,3,H,W", "the image whose style is wanted, in [-1, 1]; H = W = size")
        .output("mu", DType::Float, "B,Z", "the code's mean (Z = param z_dim)")
        .output("logvar", DType::Float, "B,Z", "the log of its variance")
        .param_int("size", 64, 32, 4096, "side of the images it takes: a multiple of 32 (64 at 64 per side)")
        .param_int("filters", 64, 1, 4096, "channels of the first convolution (the paper's ndf, 64)")
        .param_int("z_dim", 256, 1, 65536, "width of the code, as the generator's z_dim")
        .param_bool("spectral_norm", true, "spectral norm on the convolutions (SPADE's default)");
  }

  explicit SpadeEncoder(const NodeSetup& s) : size_(s.params.integer("size")) {
    using namespace torch::nn;
    if (size_ % 32 != 0)
      throw std::invalid_argument("param size is " + std::to_string(size_) + ": use a multiple of 32 (64)");
    const int64_t nf = s.params.integer("filters"), z_dim = s.params.integer("z_dim");
    const int64_t layers = size_ >= 256 ? 6 : 5;
    const int64_t side = size_ >> layers, width = nf * 8 * side * side;
    convs_ = register_module("convs", EncoderConvs(nf, layers));
    for (const auto& conv : convs_->convs)
      norms_.push_back(InstanceNorm2d(InstanceNorm2dOptions(conv->options.out_channels())));
    mu_ = register_module("fc_mu", Linear(width, z_dim));
    logvar_ = register_module("fc_var", Linear(width, z_dim));
    if (s.params.flag("spectral_norm")) spectral_ = std::make_unique<layers::SpectralNorm>(*convs_);
  }

  TensorMap forward(const TensorMap& in) override {
    auto x = in.at("image");
    if (x.size(1) != 3 || x.size(2) != size_ || x.size(3) != size_)
      throw std::invalid_argument("image is " + c10::str(x.sizes()) + " but the encoder takes 3x" +
                                  std::to_string(size_) + "x" + std::to_string(size_) +
                                  " images (its param size)");
    if (spectral_) spectral_->refresh(is_training());
    namespace F = torch::nn::functional;
    // The official code activates before each convolution but the first and once after the last:
    // the same as after every norm.
    for (size_t i = 0; i < convs_->convs.size(); ++i)
      x = F::leaky_relu(norms_[i]->forward(convs_->convs[i]->forward(x)),
                        F::LeakyReLUFuncOptions().negative_slope(0.2));
    x = x.flatten(1);
    return {{"mu", mu_->forward(x)}, {"logvar", logvar_->forward(x)}};
  }

 private:
  int64_t size_;
  EncoderConvs convs_{nullptr};
  std::vector<torch::nn::InstanceNorm2d> norms_;
  torch::nn::Linear mu_{nullptr}, logvar_{nullptr};
  std::unique_ptr<layers::SpectralNorm> spectral_;
};

}  // namespace ganglion::nets

void register_spade_encoder(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::SpadeEncoder>());
}
