// losses/weighted-sum: wa*a + wb*b (+ wc*c + wd*d), to minimise several losses in one phase.
#include <ganglion/plugin.h>

namespace ganglion::losses {

class WeightedSum : public Function {
 public:
  static Contract contract() {
    return Contract("losses/weighted-sum", NodeKind::Function)
        .doc("wa*a + wb*b + wc*c + wd*d over the connected inputs")
        .input("a", DType::Float, "", "a loss")
        .input("b", DType::Float, "", "a loss")
        .optional_input("c", DType::Float, "", "a loss")
        .optional_input("d", DType::Float, "", "a loss")
        .output("loss", DType::Float, "", "the weighted sum")
        .param_float("wa", 1.0, {}, {}, "weight of a")
        .param_float("wb", 1.0, {}, {}, "weight of b")
        .param_float("wc", 1.0, {}, {}, "weight of c")
        .param_float("wd", 1.0, {}, {}, "weight of d");
  }
  explicit WeightedSum(const NodeSetup& s) {
    for (const char* port : {"a", "b", "c", "d"}) weights_[port] = s.params.real(std::string("w") + port);
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
