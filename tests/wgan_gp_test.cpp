// WGAN-GP: the gradient penalty's value and double backward, the plan's repeat and second order,
// and a few real training iterations.
#include <doctest/doctest.h>

#include <cmath>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

std::shared_ptr<Function> function_of(const std::string& type,
                                      const std::map<std::string, ParamValue>& params = {}) {
  return make_function(test::registered(type), test::node_setup(type, params));
}

json wgan_graph() {
  auto g = load_json_file(std::string(GANGLION_SOURCE_DIR) + "/graphs/wgan-gp-mnist.json");
  g["nodes"]["batch"]["params"]["limit"] = 256;
  g["nodes"]["batch"]["params"]["batch"] = 32;
  return g;
}

}  // namespace

TEST_CASE("WganGp.PenaltyValueAndItsSecondDerivative") {
  auto gp = function_of("losses/gradient-penalty", {{"weight", 10.0}});
  test::TestContext ctx;
  auto x = torch::ones({4, 3}).requires_grad_();
  auto score = (x * x).sum(1);  // d score / d x = 2x: norm 2*sqrt(3) per sample
  const auto loss = gp->forward({{"score", score}, {"input", x}}, ctx).at("loss");
  CHECK(loss.item<double>() == doctest::Approx(10.0 * std::pow(2.0 * std::sqrt(3.0) - 1.0, 2)));
  // The penalty is differentiable again (create_graph): d/dx of 10*(2|x|-1)^2 over the mean.
  REQUIRE(loss.requires_grad());
  loss.backward();
  REQUIRE(x.grad().defined());
  const double n = 2.0 * std::sqrt(3.0);
  CHECK(x.grad()[0][0].item<double>() == doctest::Approx(10.0 * 2.0 * (n - 1.0) * (4.0 / n) / 4.0));

  auto plain = torch::ones({4, 3});
  CHECK_THROWS_WITH(
      gp->forward({{"score", plain.sum(1)}, {"input", plain}}, ctx),
      doctest::Contains(
          "input does not record gradients: feed it from noise/interpolate (WGAN-GP's interpolates) "
          "or data/leaf (R1 on the real batch), which make leaves that do"));
}

TEST_CASE("WganGp.InterpolatesLieBetweenRealAndFake") {
  auto mix = function_of("noise/interpolate");
  test::TestContext ctx;
  auto real = torch::zeros({16, 1, 2, 2}), fake = torch::ones({16, 1, 2, 2});
  const auto mixed = mix->forward({{"real", real}, {"fake", fake}}, ctx).at("mixed");
  CHECK(mixed.requires_grad());
  CHECK(mixed.is_leaf());
  CHECK(mixed.min().item<float>() >= 0.0f);
  CHECK(mixed.max().item<float>() <= 1.0f);
  // One eps per sample: every pixel of a sample is the same mix.
  CHECK(torch::allclose(mixed.amin({1, 2, 3}), mixed.amax({1, 2, 3})));
  CHECK(mixed.amin({1, 2, 3}).std().item<float>() > 0.05f);
}

TEST_CASE("WganGp.PlanRepeatsTheCriticAndMarksTheDoubleBackward") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(wgan_graph(), "wgan.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  REQUIRE(plan.phases[0].second_order.size() == 1);
  CHECK(graph.nodes[plan.phases[0].second_order[0]].name == "gp");
  const std::string text = describe_plan(graph, plan);
  CHECK(text.find("5 times in a row") != std::string::npos);
  CHECK(text.find("second derivative: gp") != std::string::npos);
  // Fresh z for the generator: nothing of the critic's phase is reused.
  for (const auto& s : plan.phases[1].nodes) CHECK_FALSE(s.reuse);
}

TEST_CASE("WganGp.TrainsOnRealMnist") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(wgan_graph(), "wgan.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  IterationRecord record;
  for (std::int64_t step = 1; step <= 2; ++step) record = executor.run_iteration(step);
  CHECK(executor.module_version(graph.find_module("D")) == 10);  // 5 critic steps per iteration
  CHECK(executor.module_version(graph.find_module("G")) == 2);
  CHECK(record.samples == 6 * 32);  // a fresh real batch for each critic step, and one for G's z
  CHECK(std::isfinite(record.losses().at("D")));
  CHECK(std::isfinite(record.losses().at("G")));
  CHECK(test::run_cli({"validate", std::string(GANGLION_SOURCE_DIR) + "/graphs/wgan-gp-mnist.json"})
            .exit_code == 0);
}
