// metrics/frechet-distance: the Fréchet distance between Gaussians fitted to real and generated
// features (Heusel et al. 2017). FID is this distance on Inception features; here the features come
// from whatever network the graph wires in (a classifier trained with Ganglion), so the numbers are
// comparable between runs of the same graph, not with published FID values.
#include <ATen/ATen.h>  // at::linalg_*: torch/linalg.h is gone from LibTorch 2.x

#include <ganglion/plugin.h>

#include "metrics/feature_checks.h"

namespace ganglion::metrics {

class FrechetDistance : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/frechet-distance", NodeKind::Function)
        .metric()
        .doc("Fréchet distance between Gaussians fitted to real and fake features (FID's formula)")
        .input("real", DType::Float, "N,F", "features of real samples")
        .input("fake", DType::Float, "M,F", "features of generated samples (as many as real, or not)")
        .output("fd", DType::Float, "", "|mu_r - mu_f|^2 + tr(S_r + S_f - 2 (S_r S_f)^1/2)");
  }
  explicit FrechetDistance(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto [real, fake] = feature_pair(in.at("real"), in.at("fake"), 2);
    const auto [mu_r, cov_r] = moments(real);
    const auto [mu_f, cov_f] = moments(fake);
    // tr((S_r S_f)^1/2) = sum of sqrt(eigenvalues of S_r^1/2 S_f S_r^1/2), a symmetric matrix, so
    // eigh suffices and no non-symmetric square root is needed.
    const auto root_r = psd_sqrt(cov_r);
    const auto middle = root_r.matmul(cov_f).matmul(root_r);
    const auto eig = at::linalg_eigvalsh((middle + middle.t()) / 2, "L").clamp_min(0);
    const auto fd = (mu_r - mu_f).pow(2).sum() + cov_r.trace() + cov_f.trace() - 2 * eig.sqrt().sum();
    return {{"fd", fd.to(torch::kFloat).reshape({})}};
  }

 private:
  static std::pair<torch::Tensor, torch::Tensor> moments(const torch::Tensor& x) {
    const auto mu = x.mean(0);
    const auto centred = x - mu;
    return {mu, centred.t().matmul(centred) / (x.size(0) - 1)};
  }
  static torch::Tensor psd_sqrt(const torch::Tensor& s) {
    const auto [values, vectors] = at::linalg_eigh(s, "L");
    return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
  }
};

}  // namespace ganglion::metrics

void register_frechet_distance(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::FrechetDistance>());
}
