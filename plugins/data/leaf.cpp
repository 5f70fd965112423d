// data/leaf: a batch cut from whatever produced it and made to record gradients, so that a
// penalty can differentiate the discriminator with respect to real data (R1, Mescheder et al. 2018).
#include <ganglion/plugin.h>

namespace ganglion::data {

class Leaf : public Function {
 public:
  static Contract contract() {
    return Contract("data/leaf", NodeKind::Function)
        .doc(
            "the input, detached and recording gradients: the `input` of a gradient penalty on real data "
            "(R1)")
        .input("x", DType::Float, "*", "a batch, usually real data")
        .output("leaf", DType::Float, "*", "the same values, a leaf that requires grad");
  }
  explicit Leaf(const NodeSetup&) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {{"leaf", in.at("x").detach().clone().requires_grad_(true)}};
  }
};

}  // namespace ganglion::data

void register_leaf(ganglion::TypeRegistrar& r) { r.add(ganglion::node_type<ganglion::data::Leaf>()); }
