// data/gaussian-mixture: the 2-D mixtures on which mode collapse is measured (a ring of 8, a 5x5
// grid). Draws from the engine's generator, so runs are reproducible and resumable.
#include <ganglion/plugin.h>

#include "data/mixture_layout.h"

namespace ganglion::data {

class GaussianMixture : public Source {
 public:
  static Contract contract() {
    Contract c("data/gaussian-mixture", NodeKind::Source);
    c.counts_rows();
    c.doc("samples of a 2-D mixture of equal-weight Gaussians on a ring or a grid (VEEGAN, PacGAN)")
        .output("x", DType::Float, "B,D", "points, D = 2")
        .output("mode", DType::Long, "B", "index of the Gaussian each point came from")
        .param_int("batch", 500, 1, 1 << 20, "points per batch");
    return mixture_params(c);
  }
  explicit GaussianMixture(const NodeSetup& s)
      : layout_(mixture_layout(s.params)),
        centres_(mixture_centres(layout_)),
        batch_(s.params.integer("batch")) {}

  TensorMap next(const TensorMap&, RunContext& ctx) override {
    auto mode = at::randint(layout_.modes, {batch_}, ctx.generator(), torch::kLong);
    auto x = centres_.index_select(0, mode) + at::normal(0.0, layout_.std, {batch_, 2}, ctx.generator());
    return {{"x", x.to(ctx.device())}, {"mode", mode.to(ctx.device())}};
  }

 private:
  MixtureLayout layout_;
  torch::Tensor centres_;
  int64_t batch_;
};

}  // namespace ganglion::data

void register_gaussian_mixture(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::data::GaussianMixture>());
}
