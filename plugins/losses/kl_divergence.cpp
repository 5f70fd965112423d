// losses/kl-divergence: KL(N(mu, exp(logvar)) || N(0, 1)) = -1/2 sum(1 + logvar - mu^2 -
// exp(logvar)), summed over the code's dimensions and averaged over the batch: the term that
// keeps an encoder's codes near the prior a generator samples from at test time (SPADE's image
// encoder, weighted 0.05; StackGAN's conditioning augmentation).
#include <ganglion/plugin.h>

namespace ganglion::losses {

class KlDivergence : public Function {
 public:
  static Contract contract() {
    return Contract("losses/kl-divergence", NodeKind::Function)
        .doc("KL divergence of N(mu, exp(logvar)) from N(0, 1), summed over the code, batch mean")
        .input("mu", DType::Float, "B,Z", "the encoder's means")
        .input("logvar", DType::Float, "B,Z", "the encoder's log-variances")
        .output("loss", DType::Float, "", "the mean over rows of each row's KL divergence");
  }
  explicit KlDivergence(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto &mu = in.at("mu"), &logvar = in.at("logvar");
    // One Gaussian per row: the contract's shared B,Z has the engine check mu against logvar.
    const auto per_row = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1);
    return {{"loss", per_row.mean()}};
  }
};

}  // namespace ganglion::losses

void register_kl_divergence(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::KlDivergence>());
}
