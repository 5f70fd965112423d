// The SPADE generator (Park et al. 2019, GauGAN; its official code's SPADEGenerator with
// num_upsampling_layers "normal"): the label map, downsampled to 1/32 of the output's size, is
// convolved into 16*filters maps (or a code z is mapped to them, when connected), then seven SPADE
// residual blocks climb to the full size through five nearest-neighbour upsamplings. In every
// block the activations are normalised without parameters of their own, then scaled and shifted
// per pixel by a gamma and a beta that a small net computes from the label map at that size
// (spatially-adaptive normalisation), so the layout is not washed out by the norm. Spectral norm
// on the blocks' convolutions, as SPADE's default.
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <ganglion/plugin.h>

#include "nets/input_checks.h"

#include "layers/spectral_norm.h"
#include "nets/norm_layer.h"

namespace ganglion::nets {

namespace {

namespace F = torch::nn::functional;

torch::Tensor nearest(const torch::Tensor& t, int64_t h, int64_t w) {
  return F::interpolate(t,
                        F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest));
}

torch::Tensor lrelu(const torch::Tensor& x) {
  return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2));
}

/// SPADE: norm(x) * (1 + gamma(labels)) + beta(labels); gamma and beta from a shared 3x3
/// convolution of the label map (`hidden` channels, ReLU) and one 3x3 convolution each.
class SpadeImpl : public torch::nn::Module {
 public:
  SpadeImpl(int64_t channels, int64_t classes, int64_t hidden, const std::string& norm) {
    using namespace torch::nn;
    norm_ = norm_layer(norm, channels, /*affine=*/false);
    register_module("norm", norm_.ptr());
    shared_ =
        register_module("shared", Sequential(Conv2d(Conv2dOptions(classes, hidden, 3).padding(1)), ReLU()));
    gamma_ = register_module("gamma", Conv2d(Conv2dOptions(hidden, channels, 3).padding(1)));
    beta_ = register_module("beta", Conv2d(Conv2dOptions(hidden, channels, 3).padding(1)));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) {
    const auto h = shared_->forward(nearest(labels, x.size(2), x.size(3)));
    return norm_.forward(x) * (1 + gamma_->forward(h)) + beta_->forward(h);
  }

 private:
  torch::nn::AnyModule norm_;
  torch::nn::Sequential shared_;
  torch::nn::Conv2d gamma_{nullptr}, beta_{nullptr};
};
TORCH_MODULE(Spade);

/// The convolutions of a SPADE residual block, apart so that spectral norm wraps them and not
/// the SPADE nets' own.
struct BlockConvsImpl : torch::nn::Module {
  BlockConvsImpl(int64_t in, int64_t out) {
    using namespace torch::nn;
    const int64_t middle = std::min(in, out);
    conv0 = register_module("conv0", Conv2d(Conv2dOptions(in, middle, 3).padding(1)));
    conv1 = register_module("conv1", Conv2d(Conv2dOptions(middle, out, 3).padding(1)));
    if (in != out) shortcut = register_module("shortcut", Conv2d(Conv2dOptions(in, out, 1).bias(false)));
  }
  torch::nn::Conv2d conv0{nullptr}, conv1{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(BlockConvs);

/// x_s + conv1(lrelu(SPADE(conv0(lrelu(SPADE(x)))))), x_s = x or conv_s(SPADE(x)) when the
/// channels change.
class SpadeBlockImpl : public torch::nn::Module {
 public:
  SpadeBlockImpl(int64_t in, int64_t out, int64_t classes, int64_t hidden, const std::string& norm,
                 bool spectral) {
    convs_ = register_module("convs", BlockConvs(in, out));
    norm0_ = register_module("norm0", Spade(in, classes, hidden, norm));
    norm1_ = register_module("norm1", Spade(std::min(in, out), classes, hidden, norm));
    if (in != out) norm_s_ = register_module("norm_s", Spade(in, classes, hidden, norm));
    if (spectral) spectral_ = std::make_unique<layers::SpectralNorm>(*convs_);
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) {
    if (spectral_) spectral_->refresh(is_training());
    const auto shortcut = convs_->shortcut ? convs_->shortcut->forward(norm_s_->forward(x, labels)) : x;
    auto dx = convs_->conv0->forward(lrelu(norm0_->forward(x, labels)));
    dx = convs_->conv1->forward(lrelu(norm1_->forward(dx, labels)));
    return shortcut + dx;
  }

 private:
  BlockConvs convs_{nullptr};
  Spade norm0_{nullptr}, norm1_{nullptr}, norm_s_{nullptr};
  std::unique_ptr<layers::SpectralNorm> spectral_;
};
TORCH_MODULE(SpadeBlock);

}  // namespace

class SpadeGenerator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/spade-generator", NodeKind::Module)
        .doc(
            "SPADE (GauGAN): label map (or code) at 1/32 size, seven SPADE residual blocks and five 2x "
            "upsamplings; every norm's scale and shift computed per pixel from the label map")
        .input("labels", DType::Float, "B,K,H,W",
               "the label map, one-hot (K = param classes); H, W multiples of 32")
        .optional_input("z", DType::Float, "B,Z",
                        "a code (SPADE's VAE mode without its encoder): the 1/32 maps "
                        "come from it instead of the label map")
        .output("image", DType::Float, "B,3,H,W", "the image in [-1, 1]")
        .param_int("classes", 12, 1, 4096, "channels of the label map: its classes")
        .param_int("filters", 64, 1, 4096, "nf: the last block's channels; the first ones have 16 nf")
        .param_int("z_dim", 256, 1, 65536, "width of the code z, when connected")
        .param_int("hidden", 128, 1, 4096, "channels of each SPADE's shared convolution (the paper's 128)")
        .param_string("norm", std::string("instance"),
                      "the parameter-free norm SPADE modulates: instance or batch (the paper's synchronised "
                      "batch norm, on one device)")
        .param_bool("spectral_norm", true,
                    "spectral norm on the residual blocks' convolutions (SPADE's default)");
  }

  explicit SpadeGenerator(const NodeSetup& s)
      : classes_(s.params.integer("classes")),
        uses_z_(connected(s.inputs, "z")),
        nf_(s.params.integer("filters")) {
    using namespace torch::nn;
    const std::string norm = s.params.text("norm");
    if (norm != "instance" && norm != "batch")
      throw std::invalid_argument("param norm is \"" + norm + "\": use instance or batch");
    const int64_t hidden = s.params.integer("hidden");
    const bool spectral = s.params.flag("spectral_norm");
    if (uses_z_)
      fc_z_ = register_module("fc", Linear(s.params.integer("z_dim"), 16 * nf_ * 4));  // 2x2 maps at 64x64
    else
      fc_labels_ = register_module("fc", Conv2d(Conv2dOptions(classes_, 16 * nf_, 3).padding(1)));
    const std::vector<std::pair<int64_t, int64_t>> widths{{16, 16}, {16, 16}, {16, 16}, {16, 8},
                                                          {8, 4},   {4, 2},   {2, 1}};
    for (size_t i = 0; i < widths.size(); ++i)
      blocks_.push_back(register_module(
          "block" + std::to_string(i),
          SpadeBlock(widths[i].first * nf_, widths[i].second * nf_, classes_, hidden, norm, spectral)));
    to_image_ = register_module("to_image", Conv2d(Conv2dOptions(nf_, 3, 3).padding(1)));
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& labels = in.at("labels");
    const int64_t h = labels.size(2), w = labels.size(3);
    if (labels.size(1) != classes_)
      throw std::invalid_argument("labels has " + std::to_string(labels.size(1)) +
                                  " channels but param classes is " + std::to_string(classes_));
    if (h % 32 != 0 || w % 32 != 0)
      throw std::invalid_argument("labels is " + std::to_string(h) + "x" + std::to_string(w) +
                                  ": SPADE's generator takes sides that are multiples of 32");
    torch::Tensor x;
    const auto z = in.find("z");
    if (uses_z_) {
      if (z == in.end() || !z->second.defined()) throw std::invalid_argument("input z is not given");
      if (h != 64 || w != 64)
        throw std::invalid_argument("with a code z the generator makes 64x64 images; labels is " +
                                    std::to_string(h) + "x" + std::to_string(w));
      x = fc_z_->forward(z->second).view({-1, 16 * nf_, 2, 2});
    } else {
      x = fc_labels_->forward(nearest(labels, h / 32, w / 32));
    }
    // As the reference: a block, then an upsampling before each of the next (none between the
    // two middle blocks of "normal").
    for (size_t i = 0; i < blocks_.size(); ++i) {
      if (i == 1 || i >= 3) x = nearest(x, x.size(2) * 2, x.size(3) * 2);
      x = blocks_[i]->forward(x, labels);
    }
    return {{"image", torch::tanh(to_image_->forward(lrelu(x)))}};
  }

 private:
  int64_t classes_;
  bool uses_z_;
  int64_t nf_;
  torch::nn::Linear fc_z_{nullptr};
  torch::nn::Conv2d fc_labels_{nullptr}, to_image_{nullptr};
  std::vector<SpadeBlock> blocks_;
};

}  // namespace ganglion::nets

void register_spade_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::SpadeGenerator>());
}
