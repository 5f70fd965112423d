// The hand-written LibTorch DCGAN training step of pytorch/examples (cpp/dcgan), kept as the
// yardstick the graph-driven step is measured against. Same layers, batch, Adam and BCE as
// graphs/dcgan-mnist.json.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace bench {

/// What one step computed, for comparing with the graph-driven step.
struct StepRecord {
  double d_loss = 0, g_loss = 0;
  std::map<std::string, torch::Tensor> d_grads, g_grads;  ///< by parameter name, before the updates
};

class ReferenceDcgan {
 public:
  ReferenceDcgan(torch::Tensor images_u8, torch::Device device);
  /// One D step and one G step, as pytorch/examples writes them, on the next batch and fresh noise.
  void step();
  /// The same step on a given batch (B,1,28,28 in [-1, 1]) and noise (B,100); fills `record`.
  void step(const torch::Tensor& real_images, const torch::Tensor& noise, StepRecord* record);

  /// Copies weights and buffers from modules with the same layers (names may carry a prefix).
  void load_from(const torch::nn::Module& generator, const torch::nn::Module& discriminator);

  /// Converts both nets' parameters and buffers (before the first step: the Adam state is empty),
  /// for the float64 step that measures how far float32 rounding takes either step.
  void to(torch::Dtype dtype);

  /// Floating-point operations of one step as written here: 3 passes of D with all gradients
  /// (9 forward-equivalents) and G forward + backward (3), 2 per multiply-add.
  double flops_per_step() const;

  /// The generator's and the discriminator's parameters, in that order.
  std::vector<torch::Tensor> parameters() const;

 private:
  torch::nn::Sequential generator_, discriminator_;
  std::unique_ptr<torch::optim::Adam> g_optimizer_, d_optimizer_;
  torch::Tensor images_;
  torch::Device device_;
  int64_t cursor_ = 0;
};

}  // namespace bench
