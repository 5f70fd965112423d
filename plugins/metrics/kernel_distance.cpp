// metrics/kernel-distance: the kernel (Inception) distance of Bińkowski et al. (2018), the unbiased
// squared MMD with the cubic polynomial kernel k(x, y) = (x.y / F + 1)^3, averaged over random
// subsets. Unbiased, so it can dip below 0 when the two sets match.
#include <ATen/CPUGeneratorImpl.h>

#include <ganglion/plugin.h>

#include "metrics/feature_checks.h"

namespace ganglion::metrics {

class KernelDistance : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/kernel-distance", NodeKind::Function)
        .metric()
        .doc("KID's formula: unbiased MMD^2, cubic polynomial kernel, mean over random subsets")
        .input("real", DType::Float, "N,F", "features of real samples")
        .input("fake", DType::Float, "M,F", "features of generated samples (as many as real, or not)")
        .output("kid", DType::Float, "", "mean of the subsets' MMD^2")
        .output("kid_std", DType::Float, "", "standard deviation of the subsets' MMD^2")
        .param_int("subsets", 100, 1, 1 << 20, "random subsets averaged")
        .param_int("subset_size", 1000, 2, 1 << 20, "samples per subset (fewer when fewer are drawn)");
  }
  explicit KernelDistance(const NodeSetup& s)
      : subsets_(s.params.integer("subsets")), size_(s.params.integer("subset_size")), seed_(s.seed) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto [real, fake] = feature_pair(in.at("real"), in.at("fake"), 2);
    const int64_t m = std::min({size_, real.size(0), fake.size(0)});
    const double f = static_cast<double>(real.size(1));
    // Its own generator: the same subsets at every evaluation, whatever the run drew before.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_);
    std::vector<double> values;
    for (int64_t i = 0; i < subsets_; ++i) {
      const auto x = real.index_select(0, torch::randperm(real.size(0), gen, torch::kLong).narrow(0, 0, m));
      const auto y = fake.index_select(0, torch::randperm(fake.size(0), gen, torch::kLong).narrow(0, 0, m));
      const auto kxx = (x.matmul(x.t()) / f + 1).pow(3), kyy = (y.matmul(y.t()) / f + 1).pow(3);
      const auto kxy = (x.matmul(y.t()) / f + 1).pow(3);
      const double pairs = static_cast<double>(m * (m - 1));
      const auto mmd = (kxx.sum() - kxx.trace()) / pairs + (kyy.sum() - kyy.trace()) / pairs - 2 * kxy.mean();
      values.push_back(mmd.item<double>());
    }
    const auto v = torch::tensor(values, torch::kDouble);
    const auto sd = values.size() > 1 ? v.std() : torch::zeros({}, torch::kDouble);
    return {{"kid", v.mean().to(torch::kFloat).reshape({})}, {"kid_std", sd.to(torch::kFloat).reshape({})}};
  }

 private:
  int64_t subsets_, size_;
  std::uint64_t seed_;
};

}  // namespace ganglion::metrics

void register_kernel_distance(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::KernelDistance>());
}
