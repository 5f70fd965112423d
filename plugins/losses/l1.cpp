// losses/l1: mean |output - target|, pix2pix's reconstruction term (weighted 100 beside the
// adversarial loss) and CycleGAN's cycle-consistency and identity terms.
#include <ganglion/plugin.h>

namespace ganglion::losses {

class L1Loss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/l1", NodeKind::Function)
        .doc(
            "mean absolute difference between an output and its target (pix2pix's L1, CycleGAN's cycle loss)")
        .input("output", DType::Float, "*", "what the network made")
        .input("target", DType::Float, "*", "what it should have made: the same shape")
        .output("loss", DType::Float, "", "mean |output - target|");
  }
  explicit L1Loss(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto &output = in.at("output"), &target = in.at("target");
    if (output.sizes() != target.sizes())
      throw std::invalid_argument("output is " + c10::str(output.sizes()) + " but target is " +
                                  c10::str(target.sizes()) + ": an L1 loss compares tensors of one shape");
    return {{"loss", (output - target).abs().mean()}};
  }
};

}  // namespace ganglion::losses

void register_l1_loss(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::L1Loss>());
}
