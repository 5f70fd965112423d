// The StyleGAN2 generator (Karras et al. 2020, config F's structure, sized by params): a mapping
// network from a normalised z to the style w, tracked by its running mean w_avg, and a synthesis
// network from a learned 4x4 constant, two modulated convolutions per resolution with per-pixel
// noise of learned strength, and a toRGB at every resolution whose outputs are upsampled and
// summed (the skip architecture). While training, style mixing gives the layers from a random
// cutoff on the styles of a second z. The contract declares the mapping/synthesis split, so
// `ganglion sample` can truncate, mix and interpolate styles.
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include <ganglion/plugin.h>

#include <cmath>

#include "layers/equalized.h"
#include "layers/modulated_conv.h"
#include "layers/upfirdn2d.h"
#include "nets/input_checks.h"

namespace ganglion::nets {

namespace {

using layers::Activation;

/// Where the per-pixel noise comes from: a fresh draw (training), the layer's fixed map, or none.
enum class NoiseMode { Random, Const, None };

/// One modulated convolution with its noise input, bias and activation.
class SynthesisLayerImpl : public torch::nn::Module {
 public:
  SynthesisLayerImpl(int64_t in, int64_t out, int64_t w_dim, int64_t resolution, bool up)
      : conv_(register_module("conv", layers::ModulatedConv2d(in, out, 3, w_dim, true, up))) {
    noise_strength_ = register_parameter("noise_strength", torch::zeros({}));
    bias_ = register_parameter("bias", torch::zeros({out}));
    // The noise used while sampling: fixed, so that a seed gives the same image every time.
    noise_const_ = register_buffer("noise_const", torch::randn({resolution, resolution}));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode noise, at::Generator& gen) {
    auto y = conv_->forward(x, w);
    if (noise == NoiseMode::Random)
      y = y + torch::randn({y.size(0), 1, y.size(2), y.size(3)}, gen, y.options()) * noise_strength_;
    else if (noise == NoiseMode::Const)
      y = y + noise_const_.view({1, 1, y.size(2), y.size(3)}) * noise_strength_;
    return layers::bias_act(y, bias_, Activation::LeakyRelu);
  }

 private:
  layers::ModulatedConv2d conv_;
  torch::Tensor noise_strength_, bias_, noise_const_;
};
TORCH_MODULE(SynthesisLayer);

/// A 1x1 modulated convolution to the image's channels, without demodulation.
class ToRgbImpl : public torch::nn::Module {
 public:
  ToRgbImpl(int64_t in, int64_t channels, int64_t w_dim)
      : conv_(register_module("conv", layers::ModulatedConv2d(in, channels, 1, w_dim, false))) {
    bias_ = register_parameter("bias", torch::zeros({channels}));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w) {
    return layers::bias_act(conv_->forward(x, w), bias_, Activation::Linear);
  }

 private:
  layers::ModulatedConv2d conv_;
  torch::Tensor bias_;
};
TORCH_MODULE(ToRgb);

}  // namespace

class StyleGan2Generator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/stylegan2-generator", NodeKind::Module)
        .doc(
            "StyleGAN2 generator: mapping network, modulated convolutions with demodulation, noise "
            "inputs, skip toRGBs, style mixing while training; declares its mapping/synthesis split")
        .input("z", DType::Float, "B,Z", "latent code (normalised to unit second moment inside)")
        .optional_input("w", DType::Float, "B,L,D",
                        "styles to synthesise from in place of the mapping's (one per style layer)")
        .output("image", DType::Float, "B,C,H,W", "generated image, about [-1, 1] (no tanh)")
        .output("w", DType::Float, "B,L,D",
                "the styles the synthesis used, one per style layer coarse to fine (after mixing and "
                "truncation): what path-length regularisation differentiates the image by")
        .param_int("z_dim", 512, 1, 65536, "length of the latent code")
        .param_int("w_dim", 512, 1, 65536, "length of the style vector")
        .param_int("mapping_layers", 8, 1, 64, "fully connected layers of the mapping network")
        .param_float("mapping_lr_mul", 0.01, 1e-6, 1.0,
                     "learning-rate multiplier of the mapping network (equalised learning rate)")
        .param_int("resolution", 64, 8, 4096, "image side, a power of two of at least 8")
        .param_int("channels", 3, 1, 64, "channels of the generated image")
        .param_int("channel_base", 32768, 1, 1 << 24, "feature maps at resolution r: channel_base / r ...")
        .param_int("channel_max", 512, 1, 65536, "... at most this")
        .param_float(
            "style_mixing", 0.9, 0.0, 1.0,
            "probability, per batch while training, of styles from a second z from a random layer on")
        .param_float("w_avg_beta", 0.995, 0.0, 1.0, "decay of the running mean of w, per training call")
        .param_float("truncation", 1.0, 0.0, 2.0,
                     "psi while sampling: w_avg + psi (w - w_avg) (1: none; training is never truncated)")
        .param_string("sampling_noise", std::string("const"),
                      "noise inputs while sampling: const (fixed per layer: a seed gives one image), random, "
                      "or none")
        .style_split("z", "w", "w_avg");
  }

  explicit StyleGan2Generator(const NodeSetup& setup) {
    const auto& p = setup.params;
    z_dim_ = p.integer("z_dim");
    w_dim_ = p.integer("w_dim");
    mixing_ = p.real("style_mixing");
    w_avg_beta_ = p.real("w_avg_beta");
    truncation_ = p.real("truncation");
    const std::string& noise = p.text("sampling_noise");
    if (noise == "const")
      sampling_noise_ = NoiseMode::Const;
    else if (noise == "random")
      sampling_noise_ = NoiseMode::Random;
    else if (noise == "none")
      sampling_noise_ = NoiseMode::None;
    else
      throw std::invalid_argument("param sampling_noise is \"" + noise + "\": use const, random or none");
    const int64_t resolution = p.integer("resolution");
    const int doublings = power_of_two_doublings(resolution, "resolution");
    const int64_t base = p.integer("channel_base"), max = p.integer("channel_max");
    const int64_t channels = p.integer("channels");

    for (int64_t i = 0; i < p.integer("mapping_layers"); ++i)
      mapping_->push_back(layers::EqualLinear(i == 0 ? z_dim_ : w_dim_, w_dim_, Activation::LeakyRelu,
                                              p.real("mapping_lr_mul")));
    register_module("mapping", mapping_);
    w_avg_ = register_buffer("w_avg", torch::zeros({w_dim_}));

    int64_t ch = feature_maps(4, base, max);
    const_ = register_parameter("const", torch::randn({ch, 4, 4}));
    layers_->push_back(SynthesisLayer(ch, ch, w_dim_, 4, false));
    to_rgb_->push_back(ToRgb(ch, channels, w_dim_));
    for (int i = 1, res = 8; i <= doublings; ++i, res *= 2) {
      const int64_t out = feature_maps(res, base, max);
      layers_->push_back(SynthesisLayer(ch, out, w_dim_, res, true));
      layers_->push_back(SynthesisLayer(out, out, w_dim_, res, false));
      to_rgb_->push_back(ToRgb(out, channels, w_dim_));
      ch = out;
    }
    register_module("layers", layers_);
    register_module("to_rgb", to_rgb_);
    filter_ = register_buffer("filter", layers::fir_filter({1, 3, 3, 1}));
    // conv1 and toRGB of 4x4, then per resolution two convolutions and a toRGB, where each toRGB
    // shares its style with the next block's first convolution (StyleGAN2's num_ws).
    num_ws_ = 2 * (doublings + 2) - 2;
  }

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    const auto& z = in.at("z");
    check_width(z.size(1), z_dim_, "z", "z_dim");
    const bool training = is_training() && !context.sampling();
    torch::Tensor ws;
    const auto given = in.find("w");
    if (given != in.end()) {
      ws = given->second;
      if (ws.size(1) != num_ws_ || ws.size(2) != w_dim_)
        throw std::invalid_argument("input w is [" + std::to_string(ws.size(0)) + ", " +
                                    std::to_string(ws.size(1)) + ", " + std::to_string(ws.size(2)) +
                                    "] but this generator takes [B, " + std::to_string(num_ws_) + ", " +
                                    std::to_string(w_dim_) + "]");
    } else {
      auto w = map(z);
      if (training && w_avg_beta_ < 1.0) {
        torch::NoGradGuard no_grad;
        w_avg_.copy_(w.detach().mean(0).lerp(w_avg_, w_avg_beta_));
      }
      if (!training && truncation_ != 1.0) w = w_avg_.lerp(w, truncation_);
      ws = w.unsqueeze(1).repeat({1, num_ws_, 1});
      if (training && mixing_ > 0) ws = mix(ws, z, context.node_generator());
    }
    const NoiseMode noise = training ? NoiseMode::Random : sampling_noise_;
    return {{"image", synthesise(ws, noise, context.node_generator())}, {"w", ws}};
  }

  int64_t num_ws() const { return num_ws_; }

 private:
  torch::Tensor map(const torch::Tensor& z) {
    auto x = z * (z.square().mean(1, true) + 1e-8).rsqrt();  // StyleGAN's normalize_2nd_moment
    return mapping_->forward(x);
  }

  /// With probability `mixing_`, the layers from a cutoff in [1, num_ws) take the styles of a
  /// second z (StyleGAN2-ADA's style_mixing_prob); w_avg is not updated from it.
  torch::Tensor mix(const torch::Tensor& ws, const torch::Tensor& z, at::Generator& gen) {
    const double draw = torch::rand({1}, gen, torch::kDouble).item<double>();
    const int64_t cutoff = torch::randint(1, num_ws_, {1}, gen, torch::kLong).item<int64_t>();
    if (draw >= mixing_) return ws;
    auto second = map(torch::randn(z.sizes(), gen, z.options())).unsqueeze(1);
    return torch::cat({ws.slice(1, 0, cutoff), second.expand({-1, num_ws_ - cutoff, -1})}, 1);
  }

  torch::Tensor synthesise(const torch::Tensor& ws, NoiseMode noise, at::Generator& gen) {
    auto x = const_.unsqueeze(0).repeat({ws.size(0), 1, 1, 1});
    torch::Tensor image;
    int64_t w_index = 0;
    const auto layer = [&](size_t i, const torch::Tensor& input) {
      auto& l = *layers_[i]->as<SynthesisLayerImpl>();
      return l.forward(input, ws.select(1, w_index++), noise, gen);
    };
    x = layer(0, x);
    image = to_rgb_[0]->as<ToRgbImpl>()->forward(x, ws.select(1, w_index));
    for (size_t block = 1; block < to_rgb_->size(); ++block) {
      x = layer(2 * block - 1, x);
      x = layer(2 * block, x);
      image = layers::upsample2d(image, filter_) +
              to_rgb_[block]->as<ToRgbImpl>()->forward(x, ws.select(1, w_index));
    }
    return image;
  }

  int64_t z_dim_, w_dim_, num_ws_;
  double mixing_, w_avg_beta_, truncation_;
  NoiseMode sampling_noise_ = NoiseMode::Const;
  torch::nn::Sequential mapping_;
  torch::nn::ModuleList layers_, to_rgb_;
  torch::Tensor w_avg_, const_, filter_;
};

}  // namespace ganglion::nets

void register_stylegan2_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::StyleGan2Generator>());
}
