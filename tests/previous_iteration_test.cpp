// The previous-iteration reference: an input given as {"from": ..., "previous": true} reads the
// value its producer had when an earlier iteration last computed it, detached, and nothing in the
// first iteration. Such an edge closes no cycle (ADA's probability follows D's scores of the
// images it augmented), pulls its producer into no phase, and is checkpointed, so a resumed run
// continues bit for bit.
#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_dot.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// The ring GAN whose G loss adds 0 x what "echo" (test/sum-or-minus-one) receives: the sum of D's
/// scores of the real points from the previous iteration, or -1 when there is none.
json ring_with_echo() {
  auto g = test::shipped_graph("gan-ring8");
  g.erase("$schema");
  g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
  g["nodes"]["real"]["params"]["batch"] = 16;
  g["nodes"]["echo"] = {{"type", "test/sum-or-minus-one"},
                        {"in", {{"x", {{"from", "d_real"}, {"previous", true}}}}}};
  g["nodes"]["g_total"] = {{"type", "losses/weighted-sum"},
                           {"params", {{"w.echo", 0.0}}},
                           {"in", {{"terms.gan", "g_loss"}, {"terms.echo", "echo.value"}}}};
  g["phases"][1]["minimize"] = "g_total";
  return g;
}

}  // namespace

TEST_CASE("PreviousIteration.TheInputIsAbsentFirstThenThePreviousIterationsValue") {
  const Graph graph = build_graph(ring_with_echo(), "echo.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  std::vector<double> d_real_sums, echoes, tracked;
  executor.set_value_observer([&](const std::string& node, const TensorMap& out) {
    if (node == "d_real") d_real_sums.push_back(out.at("score").sum().item<double>());
    if (node == "echo") {
      echoes.push_back(out.at("value").item<double>());
      tracked.push_back(out.at("tracked").item<double>());
    }
  });
  for (int step = 1; step <= 2; ++step) executor.run_iteration(step);
  // A sample draw between iterations gets no previous value (sampling is not training) and
  // leaves the one the next iteration reads alone.
  const PortRef echo{graph.find_node("echo"), "value"};
  const size_t before = echoes.size();
  CHECK(executor.sample(echo).item<double>() == -1.0);
  REQUIRE(echoes.size() == before + 1);  // the observer sees sample draws too: not counted below
  echoes.pop_back();
  tracked.pop_back();
  for (int step = 3; step <= 4; ++step) executor.run_iteration(step);
  REQUIRE(d_real_sums.size() == 4);  // once per iteration, in phase D
  REQUIRE(echoes.size() == 4);       // once per iteration, in phase G
  CHECK(echoes[0] == -1.0);
  // Phase G runs after phase D, yet reads the iteration before's scores, not this one's.
  for (int i = 1; i < 4; ++i) CHECK(echoes[i] == doctest::Approx(d_real_sums[i - 1]).epsilon(1e-6));
  CHECK(d_real_sums[1] != d_real_sums[0]);  // the scores move, so the lag is visible
  // Detached: D's scores were computed with D's parameters tracked, the value read is not.
  for (double t : tracked) CHECK(t == 0.0);
}

TEST_CASE("PreviousIteration.AFeedbackLoopIsNoCycleAndThePlanSaysWhatItReads") {
  const auto& r = test::builtin_registry();
  // ADA's loop: ada -> aug_real -> d_real -> ada. Through "previous" it is a graph; as a plain
  // reference it is a cycle.
  const Graph graph =
      build_graph(test::with_ada(test::small_stylegan2("stylegan2-lfw-32"), 1000), "ada.json", r);
  const Plan plan = make_plan(graph);
  const std::string text = describe_plan(graph, plan);
  CHECK(text.find("previous: input real_score reads d_real as the previous iteration left it (detached; "
                  "absent in the first iteration)") != std::string::npos);
  // p is computed once, in the first phase, and reused by the others (it depends on no module).
  CHECK(text.find("reuse   ada [augment/ada-probability]") != std::string::npos);
  // The picture draws the read from the phase that computes d_real, dashed.
  const std::string dot = graph_to_dot(graph, plan);
  CHECK(dot.find("\"Dmain/d_real\":\"out_score\" -> \"Gmain/ada\":\"in_real_score\" [label=\"score (previous "
                 "iteration)\", style=dashed") != std::string::npos);

  auto cyclic = test::with_ada(test::small_stylegan2("stylegan2-lfw-32"), 1000);
  cyclic["nodes"]["ada"]["in"]["real_score"] = "d_real";
  CHECK(test::error_of([&] { build_graph(cyclic, "cycle.json", r); }).find("the nodes form a cycle: ") !=
        std::string::npos);
}

TEST_CASE("PreviousIteration.MistakesAreNamed") {
  const auto& r = test::builtin_registry();
  auto errors = [&](const std::string& node, const std::string& port, const json& value) {
    auto g = ring_with_echo();
    g["nodes"][node]["in"][port] = value;
    return test::error_of([&] { build_graph(g, "g.json", r); });
  };
  CHECK(errors("echo", "x", {{"from", "d_real"}, {"previous", "yes"}})
            .find("g.json: /nodes/echo/in/x/previous: expected true or false") != std::string::npos);
  CHECK(errors("echo", "x", {{"from", "d_real"}, {"previous", true}, {"stale", true}})
            .find("either stale (an earlier phase's value) or previous") != std::string::npos);
  // A required input would have nothing to read in the first iteration.
  CHECK(
      errors("d_loss", "fake", {{"from", "d_fake"}, {"previous", true}})
          .find(
              "g.json: /nodes/d_loss/in/fake: input \"fake\" of losses/bce-discriminator is required, but a "
              "previous-iteration value is absent in the first iteration") != std::string::npos);
  CHECK(
      errors("g_total", "terms.echo", {{"from", "echo.value"}, {"previous", true}})
          .find("of losses/weighted-sum belongs to a group of inputs, which cannot read a previous-iteration "
                "value") != std::string::npos);
  CHECK(errors("echo", "x", {{"from", "d_reel"}, {"previous", true}})
            .find("g.json: /nodes/echo/in/x/from: no node \"d_reel\"") != std::string::npos);
  // A producer that no phase computes never gives the input a value: a warning, not an error.
  auto g = ring_with_echo();
  g["nodes"]["echo"]["in"]["x"] = {{"from", "modes.modes"}, {"previous", true}};
  const Graph graph = build_graph(g, "g.json", r);
  REQUIRE(graph.warnings.size() == 1);
  CHECK(graph.warnings[0].message.find("from the previous iteration, but no phase computes \"modes\", so the "
                                       "input never has a value") != std::string::npos);
}

TEST_CASE("PreviousIteration.TheLogNamesSingleNumbersOnly") {
  const auto& r = test::builtin_registry();
  auto g = ring_with_echo();
  g["outputs"]["log"]["values"] = {"echo.value", "fake"};
  CHECK(test::error_of([&] {
          build_graph(g, "g.json", r);
        }).find("g.json: /outputs/log/values/1: \"fake\" has shape \"*\": the log takes single numbers") !=
        std::string::npos);
  g["outputs"]["log"]["values"] = "echo.value";
  CHECK(test::error_of([&] {
          build_graph(g, "g.json", r);
        }).find("g.json: /outputs/log/values: expected a list") != std::string::npos);
}
