// The hinge pair (Lim & Ye; Miyato et al.; BigGAN): the discriminator's
// mean(relu(1 - D(real))) + mean(relu(1 + D(fake))) and the generator's -mean(D(fake)).
#include <ganglion/plugin.h>

namespace ganglion::losses {

class HingeDiscriminatorLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/hinge-discriminator", NodeKind::Function)
        .doc("mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))")
        .input("real", DType::Float, "*", "scores (logits) of real samples, one a row or a map a row")
        .input("fake", DType::Float, "*", "scores (logits) of generated samples, one a row or a map a row")
        .output("loss", DType::Float, "", "mean loss");
  }
  explicit HingeDiscriminatorLoss(const NodeSetup&) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {{"loss", torch::relu(1.0 - in.at("real")).mean() + torch::relu(1.0 + in.at("fake")).mean()}};
  }
};

class HingeGeneratorLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/hinge-generator", NodeKind::Function)
        .doc("-mean(D(fake))")
        .input("fake", DType::Float, "*", "scores (logits) of generated samples, one a row or a map a row")
        .output("loss", DType::Float, "", "mean loss");
  }
  explicit HingeGeneratorLoss(const NodeSetup&) {}
  TensorMap forward(const TensorMap& in, RunContext&) override { return {{"loss", -in.at("fake").mean()}}; }
};

}  // namespace ganglion::losses

void register_hinge_losses(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::HingeDiscriminatorLoss>());
  registrar.add(ganglion::node_type<ganglion::losses::HingeGeneratorLoss>());
}
