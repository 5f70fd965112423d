// Learning-rate multipliers a module declares for a part of itself (StyleGAN's mapping network at
// 0.01x): the part gets a param group of its own at that rate, schedules and the lazy adjustment
// apply to it too, and a module that declares none keeps one group as before.
#include <doctest/doctest.h>

#include <torch/optim/adam.h>
#include <torch/serialize.h>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

json embed_graph(double embed_lr, json optimizer = {{"type", "adam"}, {"lr", 0.01}}) {
  return {{"ganglion", 1},
          {"steps", 10},
          {"modules", {{"E", {{"type", "test/token-embed"}, {"params", {{"embed_lr", embed_lr}}}}}}},
          {"nodes",
           {{"text", {{"type", "test/tokens"}}},
            {"v", {{"apply", "E"}, {"in", {{"tokens", "text.tokens"}, {"mask", "text.mask"}}}}},
            {"loss", {{"type", "test/square"}, {"in", {{"x", "v"}}}}}}},
          {"phases", {{{"name", "E"}, {"minimize", "loss"}, {"update", {"E"}}, {"optimizer", optimizer}}}}};
}

}  // namespace

TEST_CASE("LrMultipliers.APartOfAModuleLearnsAtItsOwnRate") {
  const Graph g = build_graph(embed_graph(0.01), "g.json", test::builtin_registry());
  const Plan plan = make_plan(g);
  Executor executor(g, plan, torch::kCPU);
  const auto& groups = executor.optimizer(0).param_groups();
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].params().size() == 2);  // head.weight, head.bias
  CHECK(groups[1].params().size() == 1);  // embedding.weight
  CHECK(groups[0].options().get_lr() == doctest::Approx(0.01));
  CHECK(groups[1].options().get_lr() == doctest::Approx(0.0001));
  CHECK(groups[1].params()[0].is_same(executor.modules()[0]->named_parameters()["embedding.weight"]));
  // Adam's first step moves each weight by about lr: the embedding a hundred times less.
  const auto params = executor.modules()[0]->named_parameters();
  const auto head = params["head.weight"].clone(), embedding = params["embedding.weight"].clone();
  executor.run_iteration(1);
  const double head_step = (params["head.weight"] - head).abs().max().item<double>();
  const double embed_step = (params["embedding.weight"] - embedding).abs().max().item<double>();
  CHECK(head_step == doctest::Approx(0.01).epsilon(0.05));
  CHECK(embed_step == doctest::Approx(0.0001).epsilon(0.05));
}

TEST_CASE("LrMultipliers.SchedulesScaleThePartToo") {
  const Graph g = build_graph(
      embed_graph(
          0.5,
          {{"type", "adam"}, {"lr", 0.01}, {"schedule", {{"type", "step"}, {"every", 1}, {"gamma", 0.5}}}}),
      "g.json", test::builtin_registry());
  const Plan plan = make_plan(g);
  Executor executor(g, plan, torch::kCPU);
  executor.run_iteration(1);
  executor.run_iteration(2);  // lr times 0.5 from iteration 2
  const auto& groups = executor.optimizer(0).param_groups();
  CHECK(groups[0].options().get_lr() == doctest::Approx(0.005));
  CHECK(groups[1].options().get_lr() == doctest::Approx(0.0025));
}

TEST_CASE("LrMultipliers.NoneDeclaredKeepsOneGroupAndCheckpointsResume") {
  const Graph plain = build_graph(embed_graph(1.0), "g.json", test::builtin_registry());
  const Plan plan = make_plan(plain);
  Executor one(plain, plan, torch::kCPU);
  CHECK(one.optimizer(0).param_groups().size() == 1);
  // A run with a part resumes with the part's state.
  const Graph g = build_graph(embed_graph(0.01), "g.json", test::builtin_registry());
  const Plan p = make_plan(g);
  Executor a(g, p, torch::kCPU);
  a.run_iteration(1);
  torch::serialize::OutputArchive out;
  a.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  Executor b(g, p, torch::kCPU);
  torch::serialize::InputArchive in;
  std::istringstream source(bytes.str());
  in.load_from(source);
  b.load(in, "checkpoint");
  a.run_iteration(2);
  b.run_iteration(2);
  CHECK(torch::equal(a.modules()[0]->named_parameters()["embedding.weight"],
                     b.modules()[0]->named_parameters()["embedding.weight"]));
}
