// Spectral normalisation (Miyato et al. 2018) as a wrapper any net can apply to its own layers:
// each Conv2d, ConvTranspose2d, TransposedConv2d and Linear weight W is used as W / sigma(W), with
// sigma estimated by power iteration. The parameter the optimiser updates keeps its name and
// shape ("weight"); the iteration's vector is a buffer ("weight_u") of the same layer, so it is
// checkpointed with the module.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <vector>

namespace ganglion::layers {

class SpectralNorm {
 public:
  /// Wraps every supported layer inside `root` (root included). Throws std::invalid_argument if
  /// there is none.
  explicit SpectralNorm(torch::nn::Module& root, int power_iterations = 1, double eps = 1e-12);

  /// Recomputes the normalised weights; call at the start of the net's forward. In training mode
  /// the power iteration advances (without gradients); in eval mode the stored vector is used.
  void refresh(bool training);

  size_t layers() const { return entries_.size(); }

 private:
  struct Entry {
    torch::nn::Module* layer;
    torch::Tensor weight;  ///< the registered parameter: what the optimiser updates
    torch::Tensor u;       ///< the registered buffer
    int64_t out_dim;       ///< the weight's output dimension (1 for transposed convolutions)
    std::function<void(const torch::Tensor&)> use;  ///< sets the weight the layer's forward reads
  };
  std::vector<Entry> entries_;
  int power_iterations_;
  double eps_;
};

}  // namespace ganglion::layers
