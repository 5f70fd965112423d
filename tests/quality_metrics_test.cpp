// The sample-quality metrics against what they must say on sets whose answer is known: the
// Fréchet distance's closed form for diagonal Gaussians, KID near 0 for one distribution, precision
// and recall for a collapsed generator, accuracy on hand-made logits.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;

namespace {

TensorMap score(const std::string& type, const TensorMap& in,
                const std::map<std::string, ParamValue>& params = {}) {
  test::TestContext ctx;
  return make_function(test::registered(type), test::node_setup(type, params, 7))->forward(in, ctx);
}

double value(const TensorMap& out, const std::string& name) { return out.at(name).item<double>(); }

}  // namespace

TEST_CASE("QualityMetrics.FrechetDistanceMatchesTheDiagonalGaussianFormula") {
  // For diagonal covariances FD = |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2; the test computes
  // each set's own moments, so only the metric's matrix square root is under test.
  torch::manual_seed(11);
  const auto a = torch::randn({4000, 3}, torch::kDouble) * torch::tensor({1.0, 2.0, 0.5}, torch::kDouble);
  const auto b =
      torch::randn({4000, 3}, torch::kDouble) * torch::tensor({0.5, 1.0, 0.5}, torch::kDouble) + 1.0;
  const auto diagonal_fd = [](const torch::Tensor& x, const torch::Tensor& y) {
    const auto sx = x.std(0), sy = y.std(0);
    return ((x.mean(0) - y.mean(0)).pow(2).sum() + (sx - sy).pow(2).sum()).item<double>();
  };
  // Independent coordinates: off-diagonal covariances are small but not zero, hence the tolerance.
  const double fd =
      value(score("metrics/frechet-distance", {{"real", a.to(torch::kFloat)}, {"fake", b.to(torch::kFloat)}}),
            "fd");
  CHECK(fd == doctest::Approx(diagonal_fd(a, b)).epsilon(0.02));
  CHECK(fd > 3.0);  // |mu|^2 = 3 alone
  const double same = value(score("metrics/frechet-distance", {{"real", a}, {"fake", a}}), "fd");
  CHECK(std::abs(same) < 1e-6);
}

TEST_CASE("QualityMetrics.KernelDistanceIsNearZeroForOneDistribution") {
  torch::manual_seed(12);
  const auto a = torch::randn({1000, 8}), b = torch::randn({1000, 8}), c = torch::randn({1000, 8}) + 0.5;
  const auto same = score("metrics/kernel-distance", {{"real", a}, {"fake", b}},
                          {{"subsets", std::int64_t{20}}, {"subset_size", std::int64_t{500}}});
  const auto shifted = score("metrics/kernel-distance", {{"real", a}, {"fake", c}},
                             {{"subsets", std::int64_t{20}}, {"subset_size", std::int64_t{500}}});
  CHECK(std::abs(value(same, "kid")) < 3 * value(same, "kid_std") + 1e-3);
  CHECK(value(shifted, "kid") > 10 * std::abs(value(same, "kid")));
  CHECK(value(shifted, "kid") > 0.01);
}

TEST_CASE("QualityMetrics.PrecisionAndRecallSeeACollapsedGenerator") {
  torch::manual_seed(13);
  const auto real = torch::randn({600, 4});
  // A generator that only makes points near one real sample: faithful (precision) but covering
  // little of the data (recall).
  const auto collapsed = real[0].unsqueeze(0) + 0.01 * torch::randn({600, 4});
  const auto pr = score("metrics/precision-recall", {{"real", real}, {"fake", collapsed}});
  CHECK(value(pr, "precision") > 0.99);
  CHECK(value(pr, "recall") < 0.05);
  const auto good = score("metrics/precision-recall", {{"real", real}, {"fake", torch::randn({600, 4})}});
  CHECK(value(good, "precision") > 0.8);
  CHECK(value(good, "recall") > 0.8);
  const auto far =
      score("metrics/precision-recall", {{"real", real}, {"fake", torch::randn({600, 4}) + 100}});
  CHECK(value(far, "precision") == 0);
  CHECK(value(far, "recall") == 0);
  CHECK_THROWS_WITH_AS(score("metrics/precision-recall", {{"real", real}, {"fake", torch::randn({600, 5})}}),
                       doctest::Contains("read both from the same network output"), std::exception);
}

TEST_CASE("QualityMetrics.ClassAccuracy") {
  const auto logits = torch::tensor({{0.1, 0.9}, {0.8, 0.2}, {0.3, 0.7}, {0.6, 0.4}});
  CHECK(value(score("metrics/class-accuracy", {{"logits", logits}, {"label", torch::tensor({1, 0, 0, 0})}}),
              "accuracy") == doctest::Approx(0.75));
  CHECK_THROWS_WITH_AS(
      score("metrics/class-accuracy", {{"logits", logits}, {"label", torch::tensor({1, 0})}}),
      doctest::Contains("do not match"), std::exception);
}
