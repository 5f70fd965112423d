// The non-saturating binary cross-entropy pair of Goodfellow et al.: the discriminator's loss on
// real and fake scores, and the generator's loss on fake scores.
#include <torch/nn/functional/loss.h>

#include <ganglion/plugin.h>

namespace ganglion::losses {

namespace {

torch::Tensor bce(const torch::Tensor& score, double target, bool logits) {
  auto t = torch::full_like(score, target);
  return logits ? torch::binary_cross_entropy_with_logits(score, t) : torch::binary_cross_entropy(score, t);
}

Contract with_common_params(Contract c) {
  return c.param_bool("logits", false, "scores are logits (D without sigmoid) rather than probabilities");
}

}  // namespace

class BceDiscriminatorLoss : public Function {
 public:
  static Contract contract() {
    return with_common_params(
        Contract("losses/bce-discriminator", NodeKind::Function)
            .doc("discriminator BCE: -log D(real) - log(1 - D(fake))")
            .input("real", DType::Float, "*",
                   "scores of real samples (one a row, or a map a row: PatchGAN's)")
            .input("fake", DType::Float, "*", "scores of generated samples (every score counts alike)")
            .output("loss", DType::Float, "", "mean loss")
            .param_float("smooth", 0.0, 0.0, 0.5,
                         "one-sided label smoothing: real samples target 1 - smooth"));
  }
  explicit BceDiscriminatorLoss(const NodeSetup& s)
      : logits_(s.params.flag("logits")), real_target_(1.0 - s.params.real("smooth")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {{"loss", bce(in.at("real"), real_target_, logits_) + bce(in.at("fake"), 0.0, logits_)}};
  }

 private:
  bool logits_;
  double real_target_;
};

class BceGeneratorLoss : public Function {
 public:
  static Contract contract() {
    return with_common_params(
        Contract("losses/bce-generator", NodeKind::Function)
            .doc("non-saturating generator BCE: -log D(fake)")
            .input("fake", DType::Float, "*", "scores of generated samples (every score counts alike)")
            .output("loss", DType::Float, "", "mean loss"));
  }
  explicit BceGeneratorLoss(const NodeSetup& s) : logits_(s.params.flag("logits")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {{"loss", bce(in.at("fake"), 1.0, logits_)}};
  }

 private:
  bool logits_;
};

}  // namespace ganglion::losses

void register_bce_losses(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::BceDiscriminatorLoss>());
  registrar.add(ganglion::node_type<ganglion::losses::BceGeneratorLoss>());
}
