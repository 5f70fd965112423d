// The normalisation the image-to-image nets' param `norm` names: batch (pix2pix's default),
// instance (CycleGAN's; pix2pix's batch norm at batch 1 is the same thing), or none.
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>

#include <stdexcept>
#include <string>

namespace ganglion::nets {

/// Throws std::invalid_argument unless `kind` is batch, instance or none.
inline void check_norm(const std::string& kind) {
  if (kind != "batch" && kind != "instance" && kind != "none")
    throw std::invalid_argument("param norm is \"" + kind + "\": use batch, instance or none");
}

/// Instance norm as pix2pix and CycleGAN use it: no affine parameters, no running statistics.
/// `affine` false gives a batch norm without its scale and shift too (SPADE supplies them).
inline torch::nn::AnyModule norm_layer(const std::string& kind, int64_t channels, bool affine = true) {
  if (kind == "batch")
    return torch::nn::AnyModule(
        torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).affine(affine)));
  if (kind == "instance")
    return torch::nn::AnyModule(torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(channels)));
  return torch::nn::AnyModule(torch::nn::Identity());
}

/// Convolutions before a batch norm need no bias (the norm's shift is one); before instance norm,
/// which has none here, and without a norm they keep it.
inline bool conv_bias(const std::string& kind) { return kind != "batch"; }

}  // namespace ganglion::nets
