// text/conditioning-augmentation: StackGAN's conditioning augmentation (Zhang et al. 2017): a
// text embedding becomes the mean and log-variance of a Gaussian over conditions, from which
// noise/reparameterize draws the condition the generator sees and which losses/kl-divergence
// keeps near N(0, 1): more conditions around each of the few captions, and a smoother manifold.
// One linear layer and a gated linear unit, as StackGAN++'s CA_NET.
#include <torch/nn/modules/linear.h>

#include <ganglion/plugin.h>

namespace ganglion::text {

class ConditioningAugmentation : public NetModule {
 public:
  static Contract contract() {
    return Contract("text/conditioning-augmentation", NodeKind::Module)
        .doc(
            "StackGAN's conditioning augmentation: a text embedding to the mean and log-variance of a "
            "Gaussian "
            "over conditions (linear layer, gated linear unit)")
        .input("embedding", DType::Float, "B,E", "the text embedding")
        .output("mu", DType::Float, "B,C", "means of the conditions, C = param size")
        .output("logvar", DType::Float, "B,C", "their log-variances")
        .param_int("embedding", 128, 1, 1 << 16, "width E of the text embedding")
        .param_int("size", 128, 1, 1 << 16, "width C of the condition (StackGAN: 128)");
  }
  explicit ConditioningAugmentation(const NodeSetup& s)
      : width_(s.params.integer("embedding")), size_(s.params.integer("size")) {
    fc_ = register_module("fc", torch::nn::Linear(width_, 4 * size_));
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& e = in.at("embedding");
    if (e.dim() != 2 || e.size(1) != width_)
      throw std::invalid_argument("input embedding is " + c10::str(e.sizes()) + " but param embedding is " +
                                  std::to_string(width_) + ": give B x " + std::to_string(width_));
    const auto h = torch::glu(fc_->forward(e), 1);  // B x 2C
    return {{"mu", h.slice(1, 0, size_)}, {"logvar", h.slice(1, size_)}};
  }

 private:
  int64_t width_, size_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace ganglion::text

void register_conditioning_augmentation(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::text::ConditioningAugmentation>());
}
