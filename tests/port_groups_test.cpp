// Port groups: a contract declares a variadic family of inputs (terms.*), with a param per member
// (w.*); the loader checks member names, counts and params, a node learns which members a graph
// connects, and losses/weighted-sum sums any number of weighted terms.
#include <doctest/doctest.h>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// Two mixtures' points side by side through test/concat, minimised through weighted-sum's terms.
json concat_graph() {
  return {{"ganglion", 1},
          {"steps", 2},
          {"modules", {{"G", {{"type", "test/growing-mlp"}, {"params", {{"dim", 2}}}}}}},
          {"nodes",
           {{"a", {{"type", "data/gaussian-mixture"}, {"params", {{"batch", 4}}}}},
            {"b", {{"type", "data/gaussian-mixture"}, {"params", {{"batch", 4}}}}},
            {"ga", {{"apply", "G"}, {"in", {{"x", "a.x"}}}}},
            {"both", {{"type", "test/concat"}, {"in", {{"parts.first", "ga"}, {"parts.second", "b.x"}}}}},
            {"sq", {{"type", "test/square"}, {"in", {{"x", "both"}}}}},
            {"sq_a", {{"type", "test/square"}, {"in", {{"x", "ga"}}}}},
            {"loss",
             {{"type", "losses/weighted-sum"},
              {"params", {{"w.concat", 10.0}}},
              {"in", {{"terms.concat", "sq"}, {"terms.own", "sq_a"}}}}}}},
          {"phases", {{{"name", "G"}, {"minimize", "loss"}, {"update", {"G"}}}}}};
}

}  // namespace

TEST_CASE("PortGroups.MembersAndTheirParamsAreResolved") {
  const Graph g = build_graph(concat_graph(), "g.json", test::builtin_registry());
  const NodeEntry& loss = g.nodes[g.find_node("loss")];
  CHECK(loss.inputs.count("terms.concat") == 1);
  CHECK(loss.inputs.count("terms.own") == 1);
  CHECK(loss.params.real("w.concat") == 10.0);
  CHECK(loss.params.real("w.own") == 1.0);  // defaulted for the connected member
  CHECK_FALSE(loss.params.has("w.other"));
  const NodeEntry& both = g.nodes[g.find_node("both")];
  CHECK(both.inputs.size() == 2);
  // A graph that only validates runs too: the members reach the node in sorted order.
  const Plan plan = make_plan(g);
  Executor executor(g, plan, torch::kCPU);
  std::map<std::string, TensorMap> seen;
  executor.set_value_observer([&](const std::string& node, const TensorMap& out) { seen[node] = out; });
  executor.run_iteration(1);
  CHECK(seen.at("both").at("y").sizes() == torch::IntArrayRef({4, 4}));
  const double expected =
      10.0 * seen.at("sq").at("loss").item<double>() + seen.at("sq_a").at("loss").item<double>();
  CHECK(seen.at("loss").at("loss").item<double>() == doctest::Approx(expected));
}

TEST_CASE("PortGroups.WeightedSumWeighsEachTerm") {
  const auto& t = test::registered("losses/weighted-sum");
  NodeSetup setup = test::node_setup("losses/weighted-sum", {{"w.cycle", 10.0}, {"w.gan", 1.0}, {"wa", 2.0}});
  setup.inputs = {"a", "terms.cycle", "terms.gan"};
  auto f = make_function(t, setup);
  test::TestContext ctx;
  const auto out = f->forward(
      {{"a", torch::tensor(1.0)}, {"terms.cycle", torch::tensor(0.5)}, {"terms.gan", torch::tensor(3.0)}},
      ctx);
  CHECK(out.at("loss").item<double>() == doctest::Approx(2.0 + 5.0 + 3.0));
  setup.inputs = {};
  CHECK(test::error_of([&] { make_function(t, setup); }).find("connect at least one loss") !=
        std::string::npos);
}

TEST_CASE("PortGroups.MistakesAreNamed") {
  const auto& r = test::builtin_registry();
  auto errors = [&](const json& doc) { return test::error_of([&] { build_graph(doc, "g.json", r); }); };
  auto g = concat_graph();
  g["nodes"]["loss"]["params"]["w.cycle"] = 2.0;
  CHECK(errors(g).find("g.json: /nodes/loss/params/w.cycle: param \"w.cycle\" belongs to input "
                       "\"terms.cycle\", which is not connected") != std::string::npos);
  g = concat_graph();
  g["nodes"]["loss"]["in"]["terms.c y"] = "sq";
  CHECK(errors(g).find("/nodes/loss/in/terms.c y: the member name after \"terms.\" uses letters") !=
        std::string::npos);
  g = concat_graph();
  g["nodes"]["loss"]["in"]["term.x"] = "sq";
  CHECK(errors(g).find("losses/weighted-sum has no input \"term.x\"") != std::string::npos);
  g = concat_graph();
  g["nodes"]["both"]["in"].erase("parts.second");
  CHECK(errors(g).find("/nodes/both/in: test/concat takes at least 2 inputs \"parts.NAME\"") !=
        std::string::npos);
  g = concat_graph();
  g["nodes"]["both"]["in"]["parts.third"] = "a.mode";  // long into float
  CHECK(errors(g).find("input \"parts\" takes float but \"a.mode\" gives long") != std::string::npos);
}
