// noise/reparameterize: z = mu + sigma * eps with eps ~ N(0, 1) and sigma = exp(logvar / 2), the
// reparameterisation trick (Kingma and Welling 2014) through which gradients reach the encoder
// that made mu and logvar: SPADE's image encoder for style, StackGAN's conditioning augmentation.
// eps comes from the engine's generator, as the noise sources draw, so runs repeat and resume.
#include <ganglion/plugin.h>

namespace ganglion::noise {

class Reparameterize : public Function {
 public:
  static Contract contract() {
    return Contract("noise/reparameterize", NodeKind::Function)
        .doc(
            "z = mu + exp(logvar / 2) * eps, eps ~ N(0, 1): a code drawn from an encoder's Gaussian, "
            "differentiable in mu and logvar")
        .input("mu", DType::Float, "B,Z", "the Gaussian's mean")
        .input("logvar", DType::Float, "B,Z", "the log of its variance, per dimension")
        .output("z", DType::Float, "B,Z", "a code drawn from N(mu, exp(logvar))");
  }
  explicit Reparameterize(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext& ctx) override {
    const auto &mu = in.at("mu"), &logvar = in.at("logvar");
    // One Gaussian per row: the contract's shared B,Z has the engine check mu against logvar.
    const auto eps = at::normal(0.0, 1.0, mu.sizes(), ctx.generator()).to(mu.device());
    return {{"z", mu + torch::exp(0.5 * logvar) * eps}};
  }
};

}  // namespace ganglion::noise

void register_reparameterize(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::noise::Reparameterize>());
}
