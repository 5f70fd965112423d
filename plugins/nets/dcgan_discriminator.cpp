// The DCGAN discriminator. At resolution 28 its layers are exactly those of the pytorch/examples
// C++ DCGAN (Conv 1->64->128->256 k4 s2 p1, then 256->1 k3, sigmoid).
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <ganglion/plugin.h>

#include "layers/spectral_norm.h"
#include "nets/conditioning.h"
#include "nets/input_checks.h"

namespace ganglion::nets {

class DcganDiscriminator : public NetModule {
 public:
  static Contract contract() {
    Contract c("nets/dcgan-discriminator", NodeKind::Module);
    c.doc(
         "DCGAN discriminator: strided convolutions with BatchNorm and LeakyReLU(0.2); conditional with "
         "classes or condition_dim (projection or concat)")
        .input("image", DType::Float, "B,C,H,W", "image to score")
        .output("score", DType::Float, "B", "probability of real (or logit with sigmoid=false)")
        .param_int("width", 64, 1, 4096, "channels of the first layer; later layers double it")
        .param_int("channels", 1, 1, 64, "channels of the input image")
        .param_int("resolution", 28, 8, 1024,
                   "image side: 28 (the pytorch/examples layers) or a power of two >= 8")
        .param_bool("sigmoid", true, "end with a sigmoid (probabilities) instead of logits")
        .param_bool(
            "batchnorm", true,
            "BatchNorm after the hidden convolutions (off for a WGAN-GP critic: the penalty is per sample)")
        .param_bool(
            "spectral_norm", false,
            "spectral normalisation of every convolution (Miyato et al. 2018), usually with batchnorm off");
    conditioning_ports(c);
    return discriminator_conditioning_params(c);
  }

  explicit DcganDiscriminator(const NodeSetup& setup) {
    const auto& p = setup.params;
    const int64_t w = p.integer("width"), c = p.integer("channels");
    const int64_t res = p.integer("resolution");
    using namespace torch::nn;
    resolution_ = res;
    batchnorm_ = p.flag("batchnorm");
    const auto lrelu = LeakyReLU(LeakyReLUOptions().negative_slope(0.2));
    // The hidden width is known before any layer is made: the condition's input channels (concat)
    // change the first convolution, its projection reads the last hidden features.
    const int doublings = res == 28 ? 3 : doublings_from_4(res, "resolution");
    condition_ = std::make_unique<DiscriminatorCondition>(p, w << (doublings - 1), *this);
    body_->push_back(
        Conv2d(Conv2dOptions(c + condition_->input_channels(), w, 4).stride(2).padding(1).bias(false)));
    body_->push_back(lrelu);
    int64_t ch = w;
    for (int i = 1; i < doublings; ++i, ch *= 2) add_down(ch, ch * 2);
    body_->push_back(Conv2d(Conv2dOptions(ch, 1, res == 28 ? 3 : 4).bias(false)));
    sigmoid_ = p.flag("sigmoid");
    register_module("body", body_);
    if (p.flag("spectral_norm")) spectral_norm_ = std::make_unique<layers::SpectralNorm>(*this);
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& x = in.at("image");
    if (spectral_norm_) spectral_norm_->refresh(is_training());
    if (x.size(2) != resolution_ || x.size(3) != resolution_)
      throw std::invalid_argument("input image is " + std::to_string(x.size(2)) + "x" +
                                  std::to_string(x.size(3)) + " but param resolution is " +
                                  std::to_string(resolution_));
    if (!condition_->projects()) {
      auto score = body_->forward(condition_->with_maps(x, in)).view({-1});
      return {{"score", sigmoid_ ? torch::sigmoid(score) : score}};
    }
    // Projection: the last hidden features meet the condition before the final convolution.
    torch::Tensor h = x;
    auto layer = body_->begin();
    for (size_t i = 0; i + 1 < body_->size(); ++i, ++layer) h = layer->forward(h);
    auto score = layer->forward(h).view({-1}) + condition_->projection(h, in);
    return {{"score", sigmoid_ ? torch::sigmoid(score) : score}};
  }

 private:
  void add_down(int64_t in, int64_t out) {
    using namespace torch::nn;
    body_->push_back(Conv2d(Conv2dOptions(in, out, 4).stride(2).padding(1).bias(false)));
    if (batchnorm_) body_->push_back(BatchNorm2d(out));
    body_->push_back(LeakyReLU(LeakyReLUOptions().negative_slope(0.2)));
  }
  int64_t resolution_;
  bool batchnorm_ = true, sigmoid_ = true;
  std::unique_ptr<DiscriminatorCondition> condition_;
  std::unique_ptr<layers::SpectralNorm> spectral_norm_;
  torch::nn::Sequential body_;
};

}  // namespace ganglion::nets

void register_dcgan_discriminator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::DcganDiscriminator>());
}
