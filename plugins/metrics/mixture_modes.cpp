// metrics/mixture-modes: how much of a 2-D Gaussian mixture a generator covers, as VEEGAN
// (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) count it. A sample is high quality when it
// lies within `sigmas` standard deviations of its nearest centre; a mode is covered when at least
// `min_samples` high-quality samples are nearest to it.
#include <ganglion/plugin.h>

#include "data/mixture_layout.h"

namespace ganglion::metrics {

class MixtureModes : public Function {
 public:
  static Contract contract() {
    Contract c("metrics/mixture-modes", NodeKind::Function);
    c.metric();
    c.doc("modes covered and share of high-quality samples of a 2-D mixture (VEEGAN/PacGAN)")
        .input("samples", DType::Float, "N,D", "generated points, D = 2 (ganglion eval draws N of them)")
        .output("modes", DType::Float, "", "number of modes with enough high-quality samples")
        .output("high_quality", DType::Float, "",
                "share of samples within `sigmas` std of their nearest centre")
        .param_float("sigmas", 3.0, 0.0, {}, "how many standard deviations count as high quality")
        .param_int("min_samples", 1, 1, 1 << 30, "high-quality samples a mode needs to count as covered");
    return data::mixture_params(c);
  }
  explicit MixtureModes(const NodeSetup& s)
      : centres_(data::mixture_centres(data::mixture_layout(s.params))),
        radius_(s.params.real("sigmas") * s.params.real("std")),
        min_samples_(s.params.integer("min_samples")) {
    if (!(radius_ > 0))
      throw std::invalid_argument(
          "params std and sigmas must both be above 0: high quality means within "
          "sigmas * std of a centre");
  }

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto x = in.at("samples").detach().to(torch::kCPU, torch::kFloat);
    if (x.dim() != 2 || x.size(1) != 2)
      throw std::invalid_argument("samples must be N x 2 points, not " + c10::str(x.sizes()));
    const auto distance = torch::cdist(x, centres_);  // N x modes
    const auto [nearest, which] = distance.min(1);
    const auto good = nearest.le(radius_);
    const auto counts = torch::bincount(which.masked_select(good), {}, centres_.size(0));
    const auto covered = counts.ge(min_samples_).sum().to(torch::kFloat);
    const auto share = x.size(0) > 0 ? good.to(torch::kFloat).mean() : torch::zeros({});
    return {{"modes", covered.reshape({})}, {"high_quality", share.reshape({})}};
  }

 private:
  torch::Tensor centres_;
  double radius_;
  int64_t min_samples_;
};

}  // namespace ganglion::metrics

void register_mixture_modes(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::MixtureModes>());
}
