// The original, saturating generator loss of Goodfellow et al.: mean(log(1 - D(fake))), which the
// generator minimises (the minimax game). Its gradient vanishes when D wins; bce-generator is the
// non-saturating alternative.
#include <torch/nn/functional/activation.h>

#include <ganglion/plugin.h>

namespace ganglion::losses {

class MinimaxGeneratorLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/minimax-generator", NodeKind::Function)
        .doc("mean(log(1 - D(fake))), the saturating minimax generator loss")
        .input("fake", DType::Float, "B", "scores of generated samples")
        .output("loss", DType::Float, "", "mean loss")
        .param_bool("logits", false, "scores are logits (D without sigmoid) rather than probabilities");
  }
  explicit MinimaxGeneratorLoss(const NodeSetup& s) : logits_(s.params.flag("logits")) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& fake = in.at("fake");
    // log(1 - sigmoid(x)) = -softplus(x), stable for large logits.
    auto loss = logits_ ? -torch::nn::functional::softplus(fake).mean() : torch::log1p(-fake).mean();
    return {{"loss", loss}};
  }

 private:
  bool logits_;
};

}  // namespace ganglion::losses

void register_minimax_generator_loss(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::MinimaxGeneratorLoss>());
}
