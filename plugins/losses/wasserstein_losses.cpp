// The Wasserstein pair of Arjovsky et al.: the critic's loss mean(D(fake)) - mean(D(real)) and the
// generator's -mean(D(fake)). The critic ends without a sigmoid. Progressive GAN adds a small
// drift penalty on the real scores.
#include <ganglion/plugin.h>

namespace ganglion::losses {

class WassersteinCriticLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/wasserstein-critic", NodeKind::Function)
        .doc("critic loss mean(D(fake)) - mean(D(real)) (WGAN)")
        .input("real", DType::Float, "B", "critic scores of real samples")
        .input("fake", DType::Float, "B", "critic scores of generated samples")
        .output("loss", DType::Float, "", "mean loss")
        .param_float("drift", 0.0, 0.0, 1e3,
                     "epsilon of Progressive GAN's drift term, epsilon * mean(D(real)^2), which keeps the "
                     "scores near 0 (the paper's 0.001)");
  }
  explicit WassersteinCriticLoss(const NodeSetup& s) : drift_(s.params.real("drift")) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& real = in.at("real");
    auto loss = in.at("fake").mean() - real.mean();
    if (drift_ > 0) loss = loss + drift_ * real.square().mean();
    return {{"loss", loss}};
  }

 private:
  double drift_;
};

class WassersteinGeneratorLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/wasserstein-generator", NodeKind::Function)
        .doc("generator loss -mean(D(fake)) (WGAN)")
        .input("fake", DType::Float, "B", "critic scores of generated samples")
        .output("loss", DType::Float, "", "mean loss");
  }
  explicit WassersteinGeneratorLoss(const NodeSetup&) {}
  TensorMap forward(const TensorMap& in, RunContext&) override { return {{"loss", -in.at("fake").mean()}}; }
};

}  // namespace ganglion::losses

void register_wasserstein_losses(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::WassersteinCriticLoss>());
  registrar.add(ganglion::node_type<ganglion::losses::WassersteinGeneratorLoss>());
}
