// losses/weighted-sum: a weighted sum of any number of losses, to minimise several in one phase:
// the group terms.NAME with a weight w.NAME each (and the older fixed ports a..d with wa..wd).
#include <ganglion/plugin.h>

namespace ganglion::losses {

class WeightedSum : public Function {
 public:
  static Contract contract() {
    return Contract("losses/weighted-sum", NodeKind::Function)
        .doc("the sum of each connected loss times its weight: w.NAME * terms.NAME (+ wa*a + ... + wd*d)")
        .input_group("terms", DType::Float, "", "a loss, named for its weight (terms.cycle, weight w.cycle)",
                     0)
        .optional_input("a", DType::Float, "", "a loss (the fixed ports predate terms.NAME)")
        .optional_input("b", DType::Float, "", "a loss")
        .optional_input("c", DType::Float, "", "a loss")
        .optional_input("d", DType::Float, "", "a loss")
        .output("loss", DType::Float, "", "the weighted sum")
        .param_float_group("w", "terms", 1.0, {}, {}, "weight of terms.NAME")
        .param_float("wa", 1.0, {}, {}, "weight of a")
        .param_float("wb", 1.0, {}, {}, "weight of b")
        .param_float("wc", 1.0, {}, {}, "weight of c")
        .param_float("wd", 1.0, {}, {}, "weight of d");
  }
  explicit WeightedSum(const NodeSetup& s) {
    for (const char* port : {"a", "b", "c", "d"}) weights_[port] = s.params.real(std::string("w") + port);
    for (const auto& port : s.inputs)
      if (port.rfind("terms.", 0) == 0) weights_[port] = s.params.real("w." + port.substr(6));
    if (s.inputs.empty()) throw std::invalid_argument("connect at least one loss (terms.NAME, or a and b)");
  }
  TensorMap forward(const TensorMap& in, RunContext&) override {
    torch::Tensor total;
    for (const auto& [port, value] : in) {
      auto term = value * weights_.at(port);
      total = total.defined() ? total + term : term;
    }
    return {{"loss", total}};
  }

 private:
  std::map<std::string, double> weights_;
};

}  // namespace ganglion::losses

void register_weighted_sum(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::WeightedSum>());
}
