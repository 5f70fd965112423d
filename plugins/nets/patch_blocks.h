// The layers of a PatchGAN, block by block, shared by nets/patchgan-discriminator (pix2pix,
// CycleGAN) and each scale of nets/multiscale-discriminator (pix2pixHD, SPADE): a 4x4 stride-2
// convolution and LeakyReLU(0.2), `layers` blocks of convolution, norm and LeakyReLU (doubling the
// channels up to 8x, the last at stride 1), then a convolution to one score a patch. pix2pix pads
// by 1; pix2pixHD and SPADE by 2.
#pragma once

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <vector>

#include "nets/norm_layer.h"

namespace ganglion::nets {

/// The blocks in order; the last one is the final convolution (the scores), the others end with
/// their LeakyReLU (the intermediate features feature matching compares).
inline std::vector<torch::nn::Sequential> patch_blocks(int64_t in_channels, int64_t filters, int64_t layers,
                                                       const std::string& norm, int64_t padding) {
  using namespace torch::nn;
  const bool bias = conv_bias(norm);
  const auto lrelu = [] { return LeakyReLU(LeakyReLUOptions().negative_slope(0.2)); };
  std::vector<Sequential> blocks;
  blocks.push_back(
      Sequential(Conv2d(Conv2dOptions(in_channels, filters, 4).stride(2).padding(padding)), lrelu()));
  int64_t ch = filters;
  for (int64_t n = 1; n <= layers; ++n) {
    const int64_t next = filters * std::min<int64_t>(int64_t(1) << std::min<int64_t>(n, 3), 8);
    Sequential block(
        Conv2d(Conv2dOptions(ch, next, 4).stride(n < layers ? 2 : 1).padding(padding).bias(bias)));
    block->push_back(norm_layer(norm, next));
    block->push_back(lrelu());
    blocks.push_back(block);
    ch = next;
  }
  blocks.push_back(Sequential(Conv2d(Conv2dOptions(ch, 1, 4).stride(1).padding(padding))));
  return blocks;
}

}  // namespace ganglion::nets
