// The planner's decisions on small graphs: frozen modules, reuse, recomputation, second order.
#include <doctest/doctest.h>

#include <algorithm>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

struct Planned {
  Graph graph;
  Plan plan;
  const PlannedNode& step(int phase, const std::string& node) const {
    const int n = graph.find_node(node);
    for (const auto& s : plan.phases.at(phase).nodes)
      if (s.node == n) return s;
    throw std::runtime_error("node " + node + " is not in phase " + std::to_string(phase));
  }
  bool runs(int phase, const std::string& node) const {
    const int n = graph.find_node(node);
    const auto& nodes = plan.phases.at(phase).nodes;
    return std::any_of(nodes.begin(), nodes.end(), [&](const auto& s) { return s.node == n; });
  }
  std::vector<std::string> modules(const std::vector<int>& list) const {
    std::vector<std::string> out;
    for (int m : list) out.push_back(graph.modules[m].name);
    std::sort(out.begin(), out.end());
    return out;
  }
};

Planned plan_of(const json& document) {
  Planned p{build_graph(document, "g.json", test::builtin_registry()), {}};
  p.plan = make_plan(p.graph);
  return p;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("Planner.DcganReusesTheFakeAndRecomputesTheStaleScore") {
  REQUIRE(test::mnist_available());
  const auto p = plan_of(test::dcgan_graph());
  // Phase D: D updated, G frozen, but G records gradients because phase G reuses fake.
  CHECK(p.modules(p.plan.phases[0].updated) == Names{"D"});
  CHECK(p.modules(p.plan.phases[0].frozen) == Names{"G"});
  CHECK(p.modules(p.plan.phases[0].tracked) == Names{"D", "G"});
  CHECK(p.plan.phases[0].retain_graph);
  CHECK(p.step(0, "fake").kept);
  CHECK_FALSE(p.step(0, "d_real").kept);
  // Phase G: fake and the samples are reused; D(fake) is stale because D was updated.
  CHECK(p.modules(p.plan.phases[1].updated) == Names{"G"});
  CHECK(p.modules(p.plan.phases[1].frozen) == Names{"D"});
  CHECK(p.modules(p.plan.phases[1].tracked) == Names{"G"});
  CHECK(p.step(1, "fake").reuse);
  CHECK(p.step(1, "fake").reused_from == 0);
  CHECK(p.step(1, "z").reuse);
  CHECK(p.step(1, "batch").reuse);
  CHECK_FALSE(p.step(1, "d_fake").reuse);
  CHECK(p.step(1, "d_fake").reason == "recomputed: D updated since phase D");
  // Phase G does not need the real batch's score at all.
  CHECK_FALSE(p.runs(1, "d_real"));
  CHECK(p.plan.phases[0].draws.size() == 2);
  CHECK(p.plan.phases[1].draws.empty());
}

TEST_CASE("Planner.PerPhaseSourcesDrawAgainAndNothingDownstreamIsReused") {
  REQUIRE(test::mnist_available());
  auto g = test::dcgan_graph();
  g["nodes"]["z"]["draw"] = "per-phase";
  const auto p = plan_of(g);
  CHECK_FALSE(p.step(1, "z").reuse);
  CHECK_FALSE(p.step(1, "fake").reuse);
  CHECK(p.step(1, "batch").reuse);  // the real batch is still drawn once per iteration
  // Nothing of phase D is reused, so G need not record gradients there.
  CHECK(p.modules(p.plan.phases[0].tracked) == Names{"D"});
  CHECK_FALSE(p.plan.phases[0].retain_graph);
}

TEST_CASE("Planner.PhaseOrderDecidesStaleness") {
  REQUIRE(test::mnist_available());
  auto g = test::dcgan_graph();
  std::swap(g["phases"][0], g["phases"][1]);  // G first, then D
  const auto p = plan_of(g);
  CHECK(p.step(1, "fake").reason == "recomputed: G updated since phase G");
  CHECK_FALSE(p.step(1, "fake").reuse);
  CHECK(p.step(1, "z").reuse);
}

TEST_CASE("Planner.SecondOrderNodesAreMarked") {
  REQUIRE(test::mnist_available());
  auto g = test::dcgan_graph();
  g["nodes"]["r1"] = {{"type", "test/grad-penalty"}, {"in", {{"score", "d_real"}, {"input", "batch.image"}}}};
  g["phases"].push_back({{"name", "R1"}, {"minimize", "r1"}, {"update", {"D"}}, {"every", 16}});
  const auto p = plan_of(g);
  REQUIRE(p.plan.phases.size() == 3);
  REQUIRE(p.plan.phases[2].second_order.size() == 1);
  CHECK(p.graph.nodes[p.plan.phases[2].second_order[0]].name == "r1");
  CHECK(p.plan.phases[0].second_order.empty());
  const std::string text = describe_plan(p.graph, p.plan);
  CHECK(text.find("runs: every 16 iterations") != std::string::npos);
  CHECK(text.find("second derivative: r1 keep their input graph (double backward)") != std::string::npos);
}

TEST_CASE("Planner.DescriptionSaysWhatRunsAndWhy") {
  REQUIRE(test::mnist_available());
  const auto p = plan_of(test::dcgan_graph());
  const std::string text = describe_plan(p.graph, p.plan);
  CHECK(text.find("phase D: minimises d_loss") != std::string::npos);
  CHECK(text.find("frozen: G (no gradient is computed into them") != std::string::npos);
  CHECK(text.find("reuse   fake [apply G]: reused from phase D: G not updated since") != std::string::npos);
  CHECK(text.find("compute d_fake [apply D]: recomputed: D updated since phase D") != std::string::npos);
}
