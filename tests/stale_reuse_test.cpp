// The stale-reuse reference: an input given as {"from": ..., "stale": true} reads the value an
// earlier phase of the iteration computed, detached, even though a module it depends on has been
// updated since (CycleGAN's and SPADE's D phases read the fakes G's phase made); the planner leaves
// the producer out of the later phase, keeps its value, and `plan` says so.
#include <doctest/doctest.h>

#include <map>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_dot.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// The ring GAN with G's phase first, so that D's phase comes after G's update; `stale` makes D's
/// fake input a stale reference.
json g_first(bool stale) {
  auto g = test::shipped_graph("gan-ring8");
  g.erase("$schema");
  g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
  std::swap(g["phases"][0], g["phases"][1]);
  if (stale) g["nodes"]["d_fake"]["in"]["x"] = {{"from", "fake"}, {"stale", true}};
  return g;
}

const PhasePlan& phase_named(const Graph& g, const Plan& plan, const std::string& name) {
  for (const auto& pp : plan.phases)
    if (g.phases[pp.phase].name == name) return pp;
  throw std::logic_error("no phase " + name);
}

const PlannedNode* step_of(const Graph& g, const PhasePlan& pp, const std::string& node) {
  for (const auto& s : pp.nodes)
    if (g.nodes[s.node].name == node) return &s;
  return nullptr;
}

/// How often each node is computed in `steps` iterations.
std::map<std::string, int> computations(const Graph& graph, int steps) {
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  std::map<std::string, int> count;
  executor.set_value_observer([&](const std::string& node, const TensorMap&) { ++count[node]; });
  for (int step = 1; step <= steps; ++step) executor.run_iteration(step);
  return count;
}

}  // namespace

TEST_CASE("StaleReuse.ThePlannerReadsTheEarlierValueInsteadOfRecomputingIt") {
  const auto& r = test::builtin_registry();
  const Graph fresh = build_graph(g_first(false), "fresh.json", r);
  const Graph stale = build_graph(g_first(true), "stale.json", r);
  const Plan fresh_plan = make_plan(fresh), stale_plan = make_plan(stale);
  // Without it, D's phase computes G's points again, because G was updated after its phase.
  const PlannedNode* again = step_of(fresh, phase_named(fresh, fresh_plan, "D"), "fake");
  REQUIRE(again);
  CHECK(again->reason.find("recomputed: G updated since phase G") != std::string::npos);
  // With it, D's phase does not apply G at all; d_fake reads phase G's value, which G's phase keeps.
  const PhasePlan& d = phase_named(stale, stale_plan, "D");
  CHECK(step_of(stale, d, "fake") == nullptr);
  const PlannedNode* d_fake = step_of(stale, d, "d_fake");
  REQUIRE(d_fake);
  REQUIRE(d_fake->stale_reads.size() == 1);
  CHECK(d_fake->stale_reads[0].port == "x");
  CHECK(stale.nodes[d_fake->stale_reads[0].node].name == "fake");
  CHECK(stale.phases[d_fake->stale_reads[0].phase].name == "G");
  CHECK(step_of(stale, phase_named(stale, stale_plan, "G"), "fake")->kept);
  CHECK_FALSE(step_of(fresh, phase_named(fresh, fresh_plan, "G"), "fake")->kept);
  // D's phase tracks no gradient into G either way.
  CHECK(d.tracked == std::vector<int>{stale.find_module("D")});
  const std::string text = describe_plan(stale, stale_plan);
  CHECK(text.find("stale: input x reads fake from phase G as it was, before G updated (detached") !=
        std::string::npos);
  // The picture draws the read from G's phase, dotted, and no G inside D's phase.
  const std::string dot = graph_to_dot(stale, stale_plan);
  CHECK(dot.find("\"G/fake\":\"out_x\" -> \"D/d_fake\":\"in_x\" [label=\"x (stale)\", style=dotted") !=
        std::string::npos);
  CHECK(dot.find("\"D/fake\"") == std::string::npos);
}

TEST_CASE("StaleReuse.TheExecutorComputesTheProducerOncePerIteration") {
  const auto& r = test::builtin_registry();
  CHECK(computations(build_graph(g_first(false), "fresh.json", r), 3)["fake"] == 6);
  const auto stale = computations(build_graph(g_first(true), "stale.json", r), 3);
  CHECK(stale.at("fake") == 3);
  CHECK(stale.at("d_fake") == 6);  // D's own output is still recomputed after G's update
}

TEST_CASE("StaleReuse.WithNoEarlierValueTheProducerIsComputedInThePhase") {
  // In the shipped order (D first) nothing has computed G's points when D's phase needs them.
  auto g = test::shipped_graph("gan-ring8");
  g.erase("$schema");
  g["nodes"]["d_fake"]["in"]["x"] = {{"from", "fake"}, {"stale", true}};
  const Graph graph = build_graph(g, "d-first.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  const PhasePlan& d = phase_named(graph, plan, "D");
  REQUIRE(step_of(graph, d, "fake"));
  CHECK(step_of(graph, d, "d_fake")->stale_reads.empty());
}

TEST_CASE("StaleReuse.MistakesInTheReferenceAreNamed") {
  const auto& r = test::builtin_registry();
  auto errors = [&](const json& value) {
    auto g = g_first(false);
    g["nodes"]["d_fake"]["in"]["x"] = value;
    return test::error_of([&] { build_graph(g, "g.json", r); });
  };
  CHECK(errors({{"stale", true}}).find("g.json: /nodes/d_fake/in/x: missing field \"from\"") !=
        std::string::npos);
  CHECK(errors({{"from", "fake"}, {"stale", "yes"}})
            .find("g.json: /nodes/d_fake/in/x/stale: expected true or false") != std::string::npos);
  CHECK(errors({{"from", "fakee"}, {"stale", true}})
            .find("g.json: /nodes/d_fake/in/x/from: no node \"fakee\"") != std::string::npos);
  CHECK(errors({{"from", "fake"}, {"stael", true}}).find("/nodes/d_fake/in/x") != std::string::npos);
}
