// template/linear-generator: the smallest generator there is, one linear layer from z to pixels.
#pragma once

#include <torch/nn/modules/linear.h>

#include <ganglion/node.h>

namespace template_nodes {

class LinearGenerator : public ganglion::NetModule {
 public:
  static ganglion::Contract contract() {
    using ganglion::DType;
    return ganglion::Contract("template/linear-generator", ganglion::NodeKind::Module)
        .doc("one linear layer from z to an image, then tanh")
        .input("z", DType::Float, "B,Z", "latent code")
        .output("image", DType::Float, "B,C,H,W", "image in [-1, 1]")
        .param_int("z_dim", 100, 1, 65536, "length of the latent code")
        .param_int("channels", 1, 1, 4, "channels of the image")
        .param_int("resolution", 28, 1, 256, "side of the square image");
  }

  explicit LinearGenerator(const ganglion::NodeSetup& setup)
      : channels_(setup.params.integer("channels")), side_(setup.params.integer("resolution")) {
    linear_ = register_module("linear",
                              torch::nn::Linear(setup.params.integer("z_dim"), channels_ * side_ * side_));
  }

  ganglion::TensorMap forward(const ganglion::TensorMap& in) override {
    const auto& z = in.at("z");
    return {{"image", torch::tanh(linear_->forward(z)).view({z.size(0), channels_, side_, side_})}};
  }

 private:
  int64_t channels_, side_;
  torch::nn::Linear linear_{nullptr};
};

}  // namespace template_nodes
