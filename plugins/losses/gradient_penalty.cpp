// The gradient penalty of Gulrajani et al. (WGAN-GP): weight * mean((|grad_x D(x)| - target)^2),
// with the gradient kept as a graph so that the phase's backward differentiates it again into D.
#include <torch/autograd.h>

#include <ganglion/plugin.h>

namespace ganglion::losses {

class GradientPenalty : public Function {
 public:
  static Contract contract() {
    return Contract("losses/gradient-penalty", NodeKind::Function)
        .doc("weight * mean((|d score / d input| - target)^2), differentiated again into the critic")
        .input("score", DType::Float, "B", "critic scores of `input`")
        .input("input", DType::Float, "*",
               "what the scores were computed from, recording gradients: noise/interpolate (WGAN-GP) or "
               "data/leaf (R1 on real data)")
        .output("loss", DType::Float, "", "the penalty")
        .param_float("weight", 10.0, 0.0, 1e6, "lambda, the penalty's weight")
        .param_float("target", 1.0, 0.0, 1e6, "the gradient norm aimed at (1 for WGAN-GP, 0 for R1-like)")
        .second_order();
  }
  explicit GradientPenalty(const NodeSetup& s)
      : weight_(s.params.real("weight")), target_(s.params.real("target")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& input = in.at("input");
    const auto& score = in.at("score");
    if (!input.requires_grad())
      throw std::invalid_argument(
          "input does not record gradients: feed it from noise/interpolate (WGAN-GP's interpolates) "
          "or data/leaf (R1 on the real batch), which make leaves that do");
    if (!score.requires_grad())
      throw std::invalid_argument("score does not depend on input through anything that records gradients");
    // create_graph: the gradient is itself differentiable, for the phase's backward into D.
    auto grad = torch::autograd::grad({score.sum()}, {input}, {}, /*retain_graph=*/true,
                                      /*create_graph=*/true)[0];
    auto norm = grad.flatten(1).norm(2, 1);
    return {{"loss", weight_ * (norm - target_).pow(2).mean()}};
  }

 private:
  double weight_, target_;
};

}  // namespace ganglion::losses

void register_gradient_penalty(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::GradientPenalty>());
}
