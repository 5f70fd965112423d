// The least-squares pair of Mao et al. (LSGAN): the discriminator regresses real scores to `real`
// and fake ones to `fake`; the generator pulls fake scores to `real`. The D ends without sigmoid.
#include <ganglion/plugin.h>

namespace ganglion::losses {

class LeastSquaresDiscriminatorLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/least-squares-discriminator", NodeKind::Function)
        .doc("0.5*mean((D(real) - real)^2) + 0.5*mean((D(fake) - fake)^2) (LSGAN)")
        .input("real", DType::Float, "*", "scores of real samples (one a row, or a map a row: PatchGAN's)")
        .input("fake", DType::Float, "*", "scores of generated samples (every score counts alike)")
        .output("loss", DType::Float, "", "mean loss")
        .param_float("real_target", 1.0, {}, {}, "the score real samples are pulled to (b)")
        .param_float("fake_target", 0.0, {}, {}, "the score generated samples are pulled to (a)");
  }
  explicit LeastSquaresDiscriminatorLoss(const NodeSetup& s)
      : real_(s.params.real("real_target")), fake_(s.params.real("fake_target")) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {
        {"loss", 0.5 * (in.at("real") - real_).pow(2).mean() + 0.5 * (in.at("fake") - fake_).pow(2).mean()}};
  }

 private:
  double real_, fake_;
};

class LeastSquaresGeneratorLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/least-squares-generator", NodeKind::Function)
        .doc("0.5*mean((D(fake) - target)^2) (LSGAN)")
        .input("fake", DType::Float, "*", "scores of generated samples (every score counts alike)")
        .output("loss", DType::Float, "", "mean loss")
        .param_float("target", 1.0, {}, {}, "the score the generator wants its samples to get (c)");
  }
  explicit LeastSquaresGeneratorLoss(const NodeSetup& s) : target_(s.params.real("target")) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {{"loss", 0.5 * (in.at("fake") - target_).pow(2).mean()}};
  }

 private:
  double target_;
};

}  // namespace ganglion::losses

void register_least_squares_losses(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::LeastSquaresDiscriminatorLoss>());
  registrar.add(ganglion::node_type<ganglion::losses::LeastSquaresGeneratorLoss>());
}
