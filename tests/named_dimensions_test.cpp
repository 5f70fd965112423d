// Named dimensions: a contract's "B" or "T" is one size across all of a node's ports, checked at
// every call; numbers are exact sizes; ports carry float, integer or bool tensors, so token
// sequences travel with their lengths and masks.
#include <doctest/doctest.h>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// Token sequences through an embedding module into a loss.
json tokens_graph(int mask_length = 0) {
  return {{"ganglion", 1},
          {"steps", 2},
          {"modules", {{"E", {{"type", "test/token-embed"}}}}},
          {"nodes",
           {{"text", {{"type", "test/tokens"}, {"params", {{"mask_length", mask_length}}}}},
            {"v", {{"apply", "E"}, {"in", {{"tokens", "text.tokens"}, {"mask", "text.mask"}}}}},
            {"loss", {{"type", "test/square"}, {"in", {{"x", "v"}}}}}}},
          {"phases", {{{"name", "E"}, {"minimize", "loss"}, {"update", {"E"}}}}}};
}

/// Why running `doc` for one iteration fails ("" when it does not).
std::string run_error(const json& doc) {
  return test::error_of([&] {
    const Graph g = build_graph(doc, "g.json", test::builtin_registry());
    const Plan plan = make_plan(g);
    Executor executor(g, plan, torch::kCPU);
    executor.run_iteration(1);
  });
}

}  // namespace

TEST_CASE("NamedDimensions.TokenSequencesWithMasksTrain") {
  const Graph g = build_graph(tokens_graph(), "g.json", test::builtin_registry());
  const Plan plan = make_plan(g);
  Executor executor(g, plan, torch::kCPU);
  TensorMap drawn;
  executor.set_value_observer([&](const std::string& node, const TensorMap& out) {
    if (node == "text") drawn = out;
  });
  const auto before = executor.modules()[0]->named_parameters()["embedding.weight"].clone();
  executor.run_iteration(1);
  CHECK((drawn.at("tokens").scalar_type() == torch::kLong));
  CHECK((drawn.at("mask").scalar_type() == torch::kBool));
  CHECK(torch::equal(drawn.at("mask").sum(1), drawn.at("lengths")));
  CHECK_FALSE(torch::equal(executor.modules()[0]->named_parameters()["embedding.weight"], before));
}

TEST_CASE("NamedDimensions.DisagreeingSizesAreNamed") {
  // The mask is 4 long where the tokens are 5: T disagrees between two outputs of the source,
  // which is caught before any consumer reads them.
  CHECK(run_error(tokens_graph(4))
            .find("node \"text\" (test/tokens): dimension T is 5 in output \"tokens\" "
                  "but 4 in output \"mask\"") != std::string::npos);
  CHECK(run_error(tokens_graph(0)).empty());
  // Rows: B of two mixtures of 4 and 3 points joined by test/concat.
  json g = {{"ganglion", 1},
            {"modules", {{"G", {{"type", "test/growing-mlp"}}}}},
            {"nodes",
             {{"a", {{"type", "data/gaussian-mixture"}, {"params", {{"batch", 4}}}}},
              {"b", {{"type", "data/gaussian-mixture"}, {"params", {{"batch", 3}}}}},
              {"ga", {{"apply", "G"}, {"in", {{"x", "a.x"}}}}},
              {"both", {{"type", "test/concat"}, {"in", {{"parts.a", "ga"}, {"parts.b", "b.x"}}}}},
              {"loss", {{"type", "test/square"}, {"in", {{"x", "both"}}}}}}},
            {"phases", {{{"name", "G"}, {"minimize", "loss"}, {"update", {"G"}}}}}};
  CHECK(run_error(g).find("node \"both\" (test/concat): dimension B is 4 in input "
                          "\"parts.a\" but 3 in input \"parts.b\"") != std::string::npos);
  g["nodes"]["b"]["params"]["batch"] = 4;
  CHECK(run_error(g).empty());
}

TEST_CASE("NamedDimensions.DTypesAreCheckedWhereAGraphConnectsThem") {
  auto g = tokens_graph();
  g["nodes"]["v"]["in"]["tokens"] = "text.mask";
  CHECK(test::error_of([&] {
          build_graph(g, "g.json", test::builtin_registry());
        }).find("input \"tokens\" takes long but \"text.mask\" gives bool") != std::string::npos);
  g = tokens_graph();
  g["nodes"]["loss"]["in"]["x"] = "text.tokens";
  CHECK(test::error_of([&] {
          build_graph(g, "g.json", test::builtin_registry());
        }).find("input \"x\" takes float but \"text.tokens\" gives long") != std::string::npos);
}

TEST_CASE("NamedDimensions.ShapesSplitIntoDimensions") {
  PortSpec p;
  p.shape = "B,C,H,W";
  CHECK(p.dimensions() == std::vector<std::string>{"B", "C", "H", "W"});
  p.shape = "";
  CHECK(p.dimensions().empty());
  p.shape = "*";
  CHECK(p.dimensions().empty());
  p.shape = "B,1";
  CHECK(p.dimensions() == std::vector<std::string>{"B", "1"});
}
