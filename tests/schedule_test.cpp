// Learning-rate schedules: the factor as a function of the iteration, and the executor really
// training with it (a factor of zero freezes the weights from that iteration on).
#include <doctest/doctest.h>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using namespace ganglion;
using nlohmann::json;

TEST_CASE("Schedules.FactorFollowsTheIteration") {
  OptimizerSpec linear;
  linear.schedule = "linear";
  linear.start = 100;
  linear.end = 300;
  linear.to = 0.1;
  CHECK(linear.lr_factor(1, 1000) == 1.0);
  CHECK(linear.lr_factor(100, 1000) == 1.0);
  CHECK(linear.lr_factor(200, 1000) == doctest::Approx(0.55));
  CHECK(linear.lr_factor(300, 1000) == doctest::Approx(0.1));
  CHECK(linear.lr_factor(5000, 1000) == doctest::Approx(0.1));
  // Without an end, the decay ends at the run's last iteration (ganglion run --steps included).
  linear.end = 0;
  CHECK(linear.lr_factor(550, 1000) == doctest::Approx(0.55));
  CHECK(linear.lr_factor(1000, 1000) == doctest::Approx(0.1));
  CHECK(linear.lr_factor(300, 500) == doctest::Approx(0.55));
  OptimizerSpec step;
  step.schedule = "step";
  step.every = 10;
  step.gamma = 0.5;
  // As PyTorch's StepLR: iterations 1-10 at the full rate, 11-20 at half.
  CHECK(step.lr_factor(10, 100) == 1.0);
  CHECK(step.lr_factor(11, 100) == 0.5);
  CHECK(step.lr_factor(25, 100) == 0.25);
  CHECK(OptimizerSpec().lr_factor(1000, 100) == 1.0);
}

TEST_CASE("Schedules.TheExecutorAppliesTheFactor") {
  json doc = test::shipped_graph("gan-ring8");
  doc["nodes"]["real"]["params"]["batch"] = 32;
  doc["modules"]["G"]["params"]["hidden"] = 16;
  doc["modules"]["D"]["params"]["hidden"] = 16;
  // From iteration 4 on the factor is 0: the weights after 3 and after 5 iterations must agree,
  // and differ from those after 2 (the first three updates happened).
  for (auto& phase : doc["phases"])
    phase["optimizer"]["schedule"] = {{"type", "step"}, {"every", 3}, {"gamma", 0.0}};
  auto weights_after = [&](int iterations) {
    const Graph graph = build_graph(doc, "ring.json", test::builtin_registry());
    const Plan plan = make_plan(graph);
    Executor executor(graph, plan, torch::kCPU);
    for (int i = 1; i <= iterations; ++i) executor.run_iteration(i);
    std::vector<torch::Tensor> out;
    for (const auto& p : executor.modules().at(graph.find_module("G"))->parameters())
      out.push_back(p.detach().clone());
    return out;
  };
  const auto two = weights_after(2), three = weights_after(3), five = weights_after(5);
  bool moved = false, frozen = true;
  for (size_t i = 0; i < two.size(); ++i) {
    moved = moved || !torch::equal(two[i], three[i]);
    frozen = frozen && torch::equal(three[i], five[i]);
  }
  CHECK(moved);
  CHECK(frozen);
}
