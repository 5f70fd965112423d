// Each loss node against its formula on hand-made scores.
#include <doctest/doctest.h>

#include <cmath>

#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;

namespace {

double loss_of(const std::string& type, const TensorMap& in,
               const std::map<std::string, ParamValue>& params = {}) {
  test::TestContext ctx;
  NodeSetup setup = test::node_setup(type, params);
  for (const auto& [port, value] : in) setup.inputs.push_back(port);  // as the engine tells it
  return make_function(test::registered(type), setup)->forward(in, ctx).at("loss").item<double>();
}

const torch::Tensor real = torch::tensor({0.5, 2.0});   // mean 1.25
const torch::Tensor fake = torch::tensor({-1.0, 0.5});  // mean -0.25

}  // namespace

TEST_CASE("Losses.LeastSquares") {
  // 0.5*mean((r-1)^2) + 0.5*mean(f^2) = 0.5*(0.25+1)/2 + 0.5*(1+0.25)/2
  CHECK(loss_of("losses/least-squares-discriminator", {{"real", real}, {"fake", fake}}) ==
        doctest::Approx(0.625));
  CHECK(loss_of("losses/least-squares-discriminator", {{"real", real}, {"fake", fake}},
                {{"real_target", 2.0}, {"fake_target", -1.0}}) ==
        doctest::Approx(0.5 * 2.25 / 2 + 0.5 * 2.25 / 2));
  CHECK(loss_of("losses/least-squares-generator", {{"fake", fake}}) ==
        doctest::Approx(0.5 * (4.0 + 0.25) / 2));
}

TEST_CASE("Losses.Hinge") {
  // mean(relu(1-r)) + mean(relu(1+f)) = (0.5+0)/2 + (0+1.5)/2
  CHECK(loss_of("losses/hinge-discriminator", {{"real", real}, {"fake", fake}}) == doctest::Approx(1.0));
  CHECK(loss_of("losses/hinge-generator", {{"fake", fake}}) == doctest::Approx(0.25));
}

TEST_CASE("Losses.WassersteinAndWeightedSum") {
  CHECK(loss_of("losses/wasserstein-critic", {{"real", real}, {"fake", fake}}) == doctest::Approx(-1.5));
  CHECK(loss_of("losses/wasserstein-generator", {{"fake", fake}}) == doctest::Approx(0.25));
  CHECK(loss_of("losses/weighted-sum", {{"a", torch::tensor(2.0)}, {"b", torch::tensor(3.0)}},
                {{"wb", 10.0}}) == doctest::Approx(32.0));
  CHECK(loss_of("losses/weighted-sum",
                {{"a", torch::tensor(1.0)}, {"b", torch::tensor(1.0)}, {"c", torch::tensor(1.0)}},
                {{"wc", -5.0}}) == doctest::Approx(-3.0));
}

TEST_CASE("Losses.MinimaxAndBce") {
  const auto p = torch::tensor({0.2, 0.6});
  CHECK(loss_of("losses/minimax-generator", {{"fake", p}}) ==
        doctest::Approx((std::log(0.8) + std::log(0.4)) / 2));
  // With logits: log(1 - sigmoid(x)), the same number from the logits of p.
  const auto logits = torch::log(p / (1 - p));
  CHECK(loss_of("losses/minimax-generator", {{"fake", logits}}, {{"logits", true}}) ==
        doctest::Approx((std::log(0.8) + std::log(0.4)) / 2));
  CHECK(loss_of("losses/bce-generator", {{"fake", p}}) ==
        doctest::Approx(-(std::log(0.2) + std::log(0.6)) / 2));
  // Smoothing: real samples target 0.9.
  const auto r = torch::tensor({0.9, 0.9}), f = torch::tensor({0.1, 0.1});
  const double target_loss = -(0.9 * std::log(0.9) + 0.1 * std::log(0.1)) - std::log(0.9);
  CHECK(loss_of("losses/bce-discriminator", {{"real", r}, {"fake", f}}, {{"smooth", 0.1}}) ==
        doctest::Approx(target_loss));
}
