// Progressive GAN's pixelwise feature normalisation (Karras et al. 2018, section 4.2): each
// pixel's feature vector scaled to unit mean square, so that G's signal magnitudes cannot escalate
// in the competition with D. StyleGAN normalises its z the same way.
#pragma once

#include <torch/types.h>

namespace ganglion::layers {

/// x / sqrt(mean(x^2 over `dim`) + eps): dim 1 for feature maps [B, C, H, W] and codes [B, Z].
inline torch::Tensor pixel_norm(const torch::Tensor& x, int64_t dim = 1, double eps = 1e-8) {
  return x * (x.square().mean(dim, true) + eps).rsqrt();
}

}  // namespace ganglion::layers
