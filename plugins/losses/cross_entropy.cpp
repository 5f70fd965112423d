// Cross-entropy of class scores against labels: the loss of the classifier graphs whose networks
// the sample-quality metrics read, and of auxiliary classifiers (AC-GAN).
#include <torch/nn/functional/loss.h>

#include <ganglion/plugin.h>

#include "common/class_labels.h"

namespace ganglion::losses {

class CrossEntropyLoss : public Function {
 public:
  static Contract contract() {
    return Contract("losses/cross-entropy", NodeKind::Function)
        .doc("mean cross-entropy of softmax(logits) against integer labels")
        .input("logits", DType::Float, "B,K", "class scores before softmax")
        .input("label", DType::Long, "B", "the true class of each row, 0..K-1")
        .output("loss", DType::Float, "", "mean loss")
        .param_float("label_smoothing", 0.0, 0.0, 1.0, "share of the target spread evenly over all classes");
  }
  explicit CrossEntropyLoss(const NodeSetup& s) : smoothing_(s.params.real("label_smoothing")) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& logits = in.at("logits");
    const auto& label = in.at("label");
    if (logits.dim() != 2 || label.dim() != 1 || label.size(0) != logits.size(0))
      throw std::invalid_argument("logits " + c10::str(logits.sizes()) + " and label " +
                                  c10::str(label.sizes()) + " do not match: give B x K scores and B labels");
    check_class_range(label, logits.size(1), "label",
                      "logits has " + std::to_string(logits.size(1)) + " classes");
    namespace F = torch::nn::functional;
    return {
        {"loss", F::cross_entropy(logits, label, F::CrossEntropyFuncOptions().label_smoothing(smoothing_))}};
  }

 private:
  double smoothing_;
};

}  // namespace ganglion::losses

void register_cross_entropy(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::CrossEntropyLoss>());
}
