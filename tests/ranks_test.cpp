// A process's place in a run over several: nodes are told their rank, data sources read their
// shard, noise differs between ranks while initial weights agree, a hook sees each phase's
// gradients before its step, and only rank 0 writes the run directory.
#include <doctest/doctest.h>

#include <filesystem>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/trainer.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

struct FirstDraw {
  torch::Tensor batch, z;
  std::vector<torch::Tensor> weights;
};

FirstDraw first_draw(const Graph& graph, const Plan& plan, Placement placement) {
  Executor executor(graph, plan, torch::kCPU, placement);
  FirstDraw out;
  for (const auto& p : executor.modules()[graph.find_module("G")]->parameters())
    out.weights.push_back(p.detach().clone());
  executor.set_value_observer([&](const std::string& node, const TensorMap& values) {
    if (node == "batch" && !out.batch.defined()) out.batch = values.at("image").clone();
    if (node == "z" && !out.z.defined()) out.z = values.at("z").clone();
  });
  executor.run_iteration(1);
  return out;
}

}  // namespace

TEST_CASE("Ranks.EachRankReadsItsShardAndDrawsItsOwnNoiseFromEqualWeights") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(test::small_dcgan_graph(256, 16), "ranks.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  const FirstDraw alone = first_draw(graph, plan, {0, 1});
  const FirstDraw r0 = first_draw(graph, plan, {0, 2});
  const FirstDraw r1 = first_draw(graph, plan, {1, 2});
  REQUIRE(r0.weights.size() == r1.weights.size());
  for (size_t i = 0; i < r0.weights.size(); ++i) CHECK(torch::equal(r0.weights[i], r1.weights[i]));
  CHECK_FALSE(torch::equal(r0.batch, r1.batch));  // disjoint shards of the data set
  CHECK_FALSE(torch::equal(r0.z, r1.z));          // noise of its own
  CHECK(torch::equal(alone.z, r0.z));             // rank 0 keeps the single-process stream
}

TEST_CASE("Ranks.TheGradientHookSeesEachPhasesParametersBeforeItsStep") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(test::small_dcgan_graph(256, 16), "hook.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  std::vector<std::string> phases;
  std::vector<size_t> counts;
  executor.set_gradient_hook([&](const PhaseSpec& phase, const std::vector<torch::Tensor>& params) {
    phases.push_back(phase.name);
    counts.push_back(params.size());
    for (const auto& p : params) {
      REQUIRE(p.grad().defined());
      p.mutable_grad().zero_();  // what the hook leaves is what the optimiser steps
    }
  });
  std::vector<torch::Tensor> before;
  for (const auto& m : executor.modules())
    for (const auto& p : m->parameters()) before.push_back(p.detach().clone());
  executor.run_iteration(1);
  CHECK(phases == std::vector<std::string>{"D", "G"});
  CHECK(counts[0] == executor.modules()[graph.find_module("D")]->parameters().size());
  CHECK(counts[1] == executor.modules()[graph.find_module("G")]->parameters().size());
  // Adam's first step on a zero gradient moves nothing.
  size_t i = 0;
  for (const auto& m : executor.modules())
    for (const auto& p : m->parameters()) CHECK(torch::equal(p, before[i++]));
}

TEST_CASE("Ranks.OnlyRankZeroWritesTheRunDirectory") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(test::small_dcgan_graph(256, 16), "writes.json", test::builtin_registry());
  RunOptions options;
  options.steps = 2;
  options.threads = 1;
  options.device = "cpu";
  options.world_size = 2;
  options.rank = 1;
  options.out = test::temp_dir("rank1") + "/run";
  CHECK(train(graph, options) == 0);
  CHECK_FALSE(std::filesystem::exists(options.out));
  options.rank = 0;
  CHECK(train(graph, options) == 0);
  CHECK(std::filesystem::exists(options.out + "/log.jsonl"));
  CHECK(std::filesystem::exists(options.out + "/checkpoints/step-00000002.pt"));
}
