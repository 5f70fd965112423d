// Conditioning shared by the nets: a class label (an integer) or a continuous attribute vector
// (an age, a stroke thickness) given to a generator or a discriminator as extra inputs.
//
// Generator: the label's embedding (learned, or one-hot) and the attribute are appended to z, as in
// the conditional GAN of Mirza & Osindero (2014) and the face-aging cGAN of Antipov et al. (2017).
// Discriminator, two ways:
//  - concat: the one-hot label and the attribute, broadcast to the image's height and width, join
//    the image as extra channels;
//  - projection (Miyato & Koyama 2018): the logit gains <embed(label), h> (and <V attribute, h>),
//    where h is the discriminator's last hidden features averaged over space.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <ganglion/contract.h>
#include <ganglion/node.h>
#include <ganglion/params.h>

namespace ganglion::nets {

/// Adds the `label` and `condition` inputs and the `classes` and `condition_dim` params.
Contract& conditioning_ports(Contract& c);
/// Adds the generator's `class_embedding` param.
Contract& generator_conditioning_params(Contract& c);
/// Adds the discriminator's `conditioning` param.
Contract& discriminator_conditioning_params(Contract& c);

/// What a generator appends to z.
class GeneratorCondition {
 public:
  /// Registers its embedding (if any) on `owner` as "class_embedding".
  GeneratorCondition(const Params& p, torch::nn::Module& owner);
  /// Width added to z.
  int64_t width() const { return label_width_ + condition_dim_; }
  /// z with the label's embedding and the attribute appended; checks what is connected.
  torch::Tensor append(const torch::Tensor& z, const TensorMap& in);

 private:
  int64_t classes_, label_width_, condition_dim_;
  torch::nn::Embedding embedding_{nullptr};
};

/// What a discriminator adds: input channels (concat) or a term of the logit (projection).
class DiscriminatorCondition {
 public:
  /// `features`: channels of the last hidden layer (for projection). Registers "class_projection"
  /// and "condition_projection" on `owner` when it projects.
  DiscriminatorCondition(const Params& p, int64_t features, torch::nn::Module& owner);
  /// Channels to add to the first convolution's input (concat; 0 for projection or none).
  int64_t input_channels() const { return projection_ ? 0 : classes_ + condition_dim_; }
  /// The image with the condition maps concatenated (concat), else the image itself.
  torch::Tensor with_maps(const torch::Tensor& image, const TensorMap& in) const;
  /// The projection term per sample (B), or an undefined tensor when there is none.
  torch::Tensor projection(const torch::Tensor& hidden, const TensorMap& in);
  bool projects() const { return projection_ && classes_ + condition_dim_ > 0; }

 private:
  int64_t classes_, condition_dim_;
  bool projection_;
  torch::nn::Embedding class_projection_{nullptr};
  torch::nn::Linear condition_projection_{nullptr};
};

}  // namespace ganglion::nets
