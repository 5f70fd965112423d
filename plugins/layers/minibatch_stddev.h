// The minibatch standard deviation layer of Progressive GAN (Karras et al. 2018, section 3): the
// discriminator sees how much the samples of a small group differ, so a generator that collapses
// to one output is easy to tell apart. StyleGAN2 uses groups of 4 and one feature.
#pragma once

#include <torch/types.h>

namespace ganglion::layers {

/// x [B, C, H, W] -> [B, C + features, H, W]: for groups of `group_size` samples (fewer when the
/// batch is smaller; the batch must then divide by it), the standard deviation of each feature
/// over the group, averaged over channels (split into `features` parts) and pixels, appended as
/// constant maps. Sample b's group is {b mod (B / G) + k * B / G}, as StyleGAN2's reshape makes it.
torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group_size = 4, int64_t features = 1);

}  // namespace ganglion::layers
