// metrics/class-accuracy: how often a classifier's top class is the expected one: a classifier's
// accuracy on held-out data, or how often a conditional generator's samples are recognised as the
// class they were asked for.
#include <ganglion/plugin.h>

namespace ganglion::metrics {

class ClassAccuracy : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/class-accuracy", NodeKind::Function)
        .metric()
        .doc("share of rows whose highest logit is at the expected class")
        .input("logits", DType::Float, "N,K", "class scores")
        .input("label", DType::Long, "N", "expected class of each row")
        .output("accuracy", DType::Float, "", "share of rows classified as expected, 0..1");
  }
  explicit ClassAccuracy(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& logits = in.at("logits");
    const auto& label = in.at("label");
    if (logits.dim() != 2 || label.dim() != 1 || logits.size(0) != label.size(0) || label.size(0) == 0)
      throw std::invalid_argument("logits " + c10::str(logits.sizes()) + " and label " +
                                  c10::str(label.sizes()) +
                                  " do not match: give N x K scores and N labels, N > 0");
    const auto hit = logits.argmax(1).eq(label.to(logits.device())).to(torch::kFloat).mean();
    return {{"accuracy", hit.to(torch::kCPU).reshape({})}};
  }
};

}  // namespace ganglion::metrics

void register_class_accuracy(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::ClassAccuracy>());
}
