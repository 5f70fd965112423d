// pix2pixHD's and SPADE's multi-scale discriminator (Wang et al. 2018; Park et al. 2019): two
// PatchGANs of the same shape, one on the image and one on the image average-pooled to half its
// size, so that one judges detail and the other layout. Besides their scores it gives the
// intermediate features of both for feature matching, flattened into one row per sample, each
// layer's features divided by their count, so that the sum of absolute differences over a row
// is the sum over layers of each layer's mean absolute difference (what SPADE's GAN feature
// loss adds up; losses/feature-matching takes it).
#include <torch/nn/functional/pooling.h>

#include <ganglion/plugin.h>

#include "nets/input_checks.h"

#include "layers/spectral_norm.h"
#include "nets/patch_blocks.h"

namespace ganglion::nets {

class MultiscaleDiscriminator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/multiscale-discriminator", NodeKind::Module)
        .doc(
            "two PatchGANs, on the image and on it halved (pix2pixHD, SPADE): a score map each, and their "
            "intermediate features for feature matching")
        .input("image", DType::Float, "B,C,H,W",
               "image to score (SPADE: the one-hot label map and the image, concatenated)")
        .output("score", DType::Float, "B,1,P,Q", "logits of the full-size PatchGAN")
        .output("score_half", DType::Float, "B,1,R,S", "logits of the PatchGAN on the image at half size")
        .output("features", DType::Float, "B,F",
                "every intermediate feature map of both, flattened, each layer divided by its size")
        .param_int("in_channels", 3, 1, 4096, "channels of the input image")
        .param_int("filters", 64, 1, 4096, "channels of each PatchGAN's first layer; doubled up to 8x")
        .param_int("layers", 3, 1, 8,
                   "norm blocks of each PatchGAN (3: SPADE's n_layers_D 4, pix2pixHD's default)")
        .param_string("norm", std::string("instance"), "batch, instance or none")
        .param_bool("spectral_norm", true,
                    "spectral norm on the convolutions of the norm blocks (SPADE's D; the first and last "
                    "stay plain)");
  }

  explicit MultiscaleDiscriminator(const NodeSetup& s) : in_channels_(s.params.integer("in_channels")) {
    const std::string norm = s.params.text("norm");
    check_norm(norm);
    for (int scale = 0; scale < 2; ++scale) {
      auto blocks =
          patch_blocks(in_channels_, s.params.integer("filters"), s.params.integer("layers"), norm, 2);
      for (size_t b = 0; b < blocks.size(); ++b) {
        register_module("scale" + std::to_string(scale) + "_block" + std::to_string(b), blocks[b]);
        if (s.params.flag("spectral_norm") && b > 0 && b + 1 < blocks.size())
          spectral_.push_back(std::make_unique<layers::SpectralNorm>(*blocks[b]));
      }
      scales_.push_back(std::move(blocks));
    }
  }

  TensorMap forward(const TensorMap& in) override {
    namespace F = torch::nn::functional;
    for (auto& sn : spectral_) sn->refresh(is_training());
    torch::Tensor x = in.at("image");
    check_in_channels(x.size(1), in_channels_);
    std::vector<torch::Tensor> scores, features;
    for (size_t scale = 0; scale < scales_.size(); ++scale) {
      if (scale > 0)
        x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(2).padding(1).count_include_pad(false));
      torch::Tensor h = x;
      for (size_t b = 0; b < scales_[scale].size(); ++b) {
        h = scales_[scale][b]->forward(h);
        if (b + 1 < scales_[scale].size())
          features.push_back(h.flatten(1) / static_cast<double>(h[0].numel()));
      }
      scores.push_back(h);
    }
    return {{"score", scores[0]}, {"score_half", scores[1]}, {"features", torch::cat(features, 1)}};
  }

 private:
  int64_t in_channels_;
  std::vector<std::vector<torch::nn::Sequential>> scales_;
  std::vector<std::unique_ptr<layers::SpectralNorm>> spectral_;
};

}  // namespace ganglion::nets

void register_multiscale_discriminator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::MultiscaleDiscriminator>());
}
