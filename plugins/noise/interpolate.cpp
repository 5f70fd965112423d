// noise/interpolate: eps * real + (1 - eps) * fake with eps ~ U(0, 1) per sample, the random
// points on which WGAN-GP penalises the critic's gradient.
#include <ganglion/plugin.h>

namespace ganglion::noise {

class Interpolate : public Function {
 public:
  static Contract contract() {
    return Contract("noise/interpolate", NodeKind::Function)
        .doc("eps*real + (1-eps)*fake, eps ~ U(0,1) per sample; a leaf that records gradients")
        .input("real", DType::Float, "*", "real samples")
        .input("fake", DType::Float, "*", "generated samples, the same shape")
        .output("mixed", DType::Float, "*", "the interpolates")
        .param_bool("detach", true,
                    "cut the generator's graph: the penalty trains the critic only, and gradients with "
                    "respect to the interpolates can be taken");
  }
  explicit Interpolate(const NodeSetup& s) : detach_(s.params.flag("detach")) {}

  TensorMap forward(const TensorMap& in, RunContext& ctx) override {
    const auto& real = in.at("real");
    const auto& fake = in.at("fake");
    if (real.sizes() != fake.sizes())
      throw std::invalid_argument("real is " + c10::str(real.sizes()) + " but fake is " +
                                  c10::str(fake.sizes()));
    std::vector<int64_t> shape(real.dim(), 1);
    shape[0] = real.size(0);
    auto eps = at::empty(shape).uniform_(0.0, 1.0, ctx.generator()).to(real.device());
    auto mixed = eps * real + (1 - eps) * fake;
    if (detach_) mixed = mixed.detach().requires_grad_(true);
    return {{"mixed", mixed}};
  }

 private:
  bool detach_;
};

}  // namespace ganglion::noise

void register_interpolate(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::noise::Interpolate>());
}
