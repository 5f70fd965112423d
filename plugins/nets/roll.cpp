// nets/roll: a batch rolled by some rows, row i becoming row i + shift: GAN-INT-CLS's mismatched
// captions are the batch's own captions rolled by one, so each image meets another row's text.
// A function node, so a graph says where the wrong pairs come from.
#include <ganglion/plugin.h>

namespace ganglion::nets {

class Roll : public Function {
 public:
  static Contract contract() {
    return Contract("nets/roll", NodeKind::Function)
        .doc("the input's rows rolled along dimension 0: output row i is input row i - shift (mod B)")
        .input("x", DType::Any, "*", "a batch: rows along dimension 0")
        .output("rolled", DType::Any, "*", "the same rows, rolled")
        .param_int("shift", 1, -(1 << 20), 1 << 20, "rows to roll by (1: each row gets the row before it)");
  }
  explicit Roll(const NodeSetup& s) : shift_(s.params.integer("shift")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& x = in.at("x");
    if (x.dim() == 0)
      throw std::invalid_argument("input x is a scalar: give a batch (rows along dimension 0)");
    return {{"rolled", x.roll({shift_}, {0})}};
  }

 private:
  int64_t shift_;
};

}  // namespace ganglion::nets

void register_roll(ganglion::TypeRegistrar& r) { r.add(ganglion::node_type<ganglion::nets::Roll>()); }
