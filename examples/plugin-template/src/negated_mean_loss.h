// template/negated-mean: -mean(score), the generator's loss when the critic's score means "real".
#pragma once

#include <ganglion/node.h>

namespace template_nodes {

class NegatedMeanLoss : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("template/negated-mean", ganglion::NodeKind::Function)
        .doc("-weight * mean(score): push the scores of generated samples up")
        .input("score", ganglion::DType::Float, "B", "scores of generated samples")
        .output("loss", ganglion::DType::Float, "", "the loss")
        .param_float("weight", 1.0, 0.0, 1000.0, "factor on the loss");
  }

  explicit NegatedMeanLoss(const ganglion::NodeSetup& setup) : weight_(setup.params.real("weight")) {}

  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext&) override {
    return {{"loss", -weight_ * in.at("score").mean()}};
  }

 private:
  double weight_;
};

}  // namespace template_nodes
