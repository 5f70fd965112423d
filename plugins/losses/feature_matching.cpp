// losses/feature-matching: pix2pixHD's and SPADE's GAN feature loss, G pulled to make D's
// intermediate features of a fake what they are for the real image it stands for: the mean over
// the batch of the summed absolute differences of a row of features (the real side detached).
// With nets/multiscale-discriminator's features (each layer divided by its size) that is the sum
// over layers and scales of each layer's mean absolute difference; SPADE weights it 10 / scales.
#include <ganglion/plugin.h>

namespace ganglion::losses {

class FeatureMatching : public Function {
 public:
  static Contract contract() {
    return Contract("losses/feature-matching", NodeKind::Function)
        .doc("mean over rows of sum |fake features - real features| (real detached): GAN feature matching")
        .input("fake", DType::Float, "B,F", "D's features of the generated images")
        .input("real", DType::Float, "B,F", "D's features of the real images they stand for")
        .output("loss", DType::Float, "", "the feature-matching loss");
  }
  explicit FeatureMatching(const NodeSetup&) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    return {{"loss", (in.at("fake") - in.at("real").detach()).abs().sum(1).mean()}};
  }
};

}  // namespace ganglion::losses

void register_feature_matching(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::losses::FeatureMatching>());
}
