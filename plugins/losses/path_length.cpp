// StyleGAN2's path-length regularisation (Karras et al. 2020, section 3.2): a fixed-size step in
// W should move the image by a fixed amount, whatever the direction. The Jacobian-vector
// product J^T y, for images scaled by random y, is kept as a graph and its length pulled towards
// its running mean, which the node keeps as checkpointed state.
#include <torch/autograd.h>

#include <ganglion/plugin.h>

#include <cmath>

namespace ganglion::losses {

class PathLengthPenalty : public Function {
 public:
  static Contract contract() {
    return Contract("losses/path-length", NodeKind::Function)
        .doc(
            "weight * mean((|J_w^T y| - a)^2), y ~ N(0, 1/(H W)), a the running mean of the lengths; "
            "differentiated again into the generator")
        .input("image", DType::Float, "B,C,H,W", "generated images")
        .input("w", DType::Float, "B,L,D", "the styles they were made from (the generator's w output)")
        .output("loss", DType::Float, "", "the penalty")
        .output("length", DType::Float, "", "the mean path length of this batch (to log)")
        .param_float("weight", 8.0, 0.0, 1e6,
                     "the penalty's weight: StyleGAN2's 2 times the phase's interval (every 4: 8)")
        .param_float("decay", 0.01, 0.0, 1.0, "how fast the running mean follows the lengths, per call")
        .second_order();
  }
  explicit PathLengthPenalty(const NodeSetup& s)
      : weight_(s.params.real("weight")), decay_(s.params.real("decay")) {}

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    const auto& image = in.at("image");
    const auto& w = in.at("w");
    if (!w.requires_grad() || !image.requires_grad())
      throw std::invalid_argument(
          "image does not depend on w through anything that records gradients: connect the "
          "generator's image and w outputs of one application, in a phase that updates it");
    const double pixels = static_cast<double>(image.size(2) * image.size(3));
    auto y = torch::randn(image.sizes(), context.node_generator(), image.options()) / std::sqrt(pixels);
    auto grad = torch::autograd::grad({(image * y).sum()}, {w}, {}, /*retain_graph=*/true,
                                      /*create_graph=*/true)[0];
    auto lengths = grad.square().sum(2).mean(1).sqrt();  // [B]
    if (!mean_.defined()) mean_ = torch::zeros({}, lengths.options().requires_grad(false));
    if (!context.sampling()) {
      torch::NoGradGuard no_grad;
      mean_ = mean_.to(lengths.device()).lerp(lengths.detach().mean(), decay_);
    }
    auto loss = (lengths - mean_).square().mean() * weight_;
    return {{"loss", loss}, {"length", lengths.detach().mean()}};
  }

  TensorMap state_tensors() const override {
    if (!mean_.defined()) return {};
    return {{"mean", mean_}};
  }
  void restore_tensors(const TensorMap& state) override {
    const auto found = state.find("mean");
    if (found != state.end()) mean_ = found->second.clone();
  }

 private:
  double weight_, decay_;
  torch::Tensor mean_;
};

}  // namespace ganglion::losses

void register_path_length(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::losses::PathLengthPenalty>());
}
