// The hand-written LibTorch DCGAN training step of pytorch/examples (cpp/dcgan), kept as the
// yardstick the graph-driven step is measured against. Same layers, batch, Adam and BCE as
// graphs/dcgan-mnist.json.
#pragma once

#include <torch/torch.h>

namespace bench {

class ReferenceDcgan {
 public:
  explicit ReferenceDcgan(torch::Tensor images_u8);
  /// One D step and one G step, as pytorch/examples writes them.
  void step();

 private:
  torch::nn::Sequential generator_, discriminator_;
  std::unique_ptr<torch::optim::Adam> g_optimizer_, d_optimizer_;
  torch::Tensor images_;
  int64_t cursor_ = 0;
};

}  // namespace bench
