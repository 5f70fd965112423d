// nets/mix: weight * a + (1 - weight) * b for a fixed weight: GAN-INT-CLS's interpolated text
// embeddings (beta 0.5 between each caption and the batch's next one), on which the generator
// must also fool the discriminator. (noise/interpolate draws its weight per row instead.)
#include <ganglion/plugin.h>

namespace ganglion::nets {

class Mix : public Function {
 public:
  static Contract contract() {
    return Contract("nets/mix", NodeKind::Function)
        .doc("weight * a + (1 - weight) * b, the same weight for every row")
        .input("a", DType::Float, "*", "a tensor")
        .input("b", DType::Float, "*", "a tensor of the same shape")
        .output("mixed", DType::Float, "*", "the mix")
        .param_float("weight", 0.5, 0.0, 1.0, "share of a (GAN-INT-CLS's beta: 0.5)");
  }
  explicit Mix(const NodeSetup& s) : weight_(s.params.real("weight")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto &a = in.at("a"), &b = in.at("b");
    if (a.sizes() != b.sizes())
      throw std::invalid_argument("a is " + c10::str(a.sizes()) + " but b is " + c10::str(b.sizes()) +
                                  ": give two tensors of one shape");
    return {{"mixed", a * weight_ + b * (1 - weight_)}};
  }

 private:
  double weight_;
};

}  // namespace ganglion::nets

void register_mix(ganglion::TypeRegistrar& r) { r.add(ganglion::node_type<ganglion::nets::Mix>()); }
