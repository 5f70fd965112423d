// metrics/attribute-agreement: how closely a continuous attribute measured on generated samples
// follows the value they were asked for (the thickness of a digit, an age): the mean absolute error
// and the Pearson correlation. An unconditional generator scores a correlation near 0.
#include <ganglion/plugin.h>

namespace ganglion::metrics {

class AttributeAgreement : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/attribute-agreement", NodeKind::Function)
        .metric()
        .doc("mean absolute error and correlation between requested and measured attribute values")
        .input("requested", DType::Float, "N,K", "the values the samples were asked for")
        .input("measured", DType::Float, "N,K", "the values measured on the samples")
        .output("mean_abs_error", DType::Float, "", "mean |measured - requested|")
        .output("correlation", DType::Float, "", "Pearson correlation over all values, -1..1");
  }
  explicit AttributeAgreement(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto a = in.at("requested").detach().to(torch::kCPU, torch::kDouble).flatten();
    const auto b = in.at("measured").detach().to(torch::kCPU, torch::kDouble).flatten();
    if (a.numel() != b.numel() || a.numel() < 2)
      throw std::invalid_argument("requested has " + std::to_string(a.numel()) + " values and measured " +
                                  std::to_string(b.numel()) + ": give the same number, at least 2");
    const auto da = a - a.mean(), db = b - b.mean();
    const double denominator = std::sqrt(da.pow(2).sum().item<double>() * db.pow(2).sum().item<double>());
    const double r = denominator > 0 ? (da * db).sum().item<double>() / denominator : 0.0;
    return {{"mean_abs_error", (b - a).abs().mean().to(torch::kFloat).reshape({})},
            {"correlation", torch::tensor(r, torch::kFloat).reshape({})}};
  }
};

}  // namespace ganglion::metrics

void register_attribute_agreement(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::AttributeAgreement>());
}
