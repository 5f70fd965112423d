// Lazy R1: a phase of its own every 16 iterations, penalising D's gradient on real data made a
// leaf by data/leaf; the penalty's second derivative reaches D.
#include <doctest/doctest.h>

#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using nlohmann::json;

TEST_CASE("R1.LazyPhaseRunsEvery16IterationsAndTrainsD") {
  REQUIRE(test::mnist_available());
  json g = test::shipped_graph("dcgan-r1-ema-mnist");
  g.erase("$schema");
  g["nodes"]["batch"]["params"]["limit"] = 256;
  g["nodes"]["batch"]["params"]["batch"] = 16;
  g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
  const std::string graph = test::write_temp("r1.json", g.dump());
  const std::string run = test::temp_dir("r1-run");
  const auto r =
      test::run_cli({"run", graph, "--out", run, "--steps", "18", "--threads", "1", "--device", "cpu"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::vector<int64_t> r1_steps;
  for (const auto& line : test::read_log(run))
    // Every line holds R1's latest loss; computed_at says where it was computed.
    if (line.at("computed_at").at("R1") == line.at("step")) {
      r1_steps.push_back(line.at("step"));
      CHECK(line.at("losses").at("R1").get<double>() > 0);  // a nonzero gradient norm, squared
    }
  CHECK(r1_steps == std::vector<int64_t>{1, 17});
}

TEST_CASE("R1.LeafRecordsGradientsOfADetachedCopy") {
  const RegisteredType* t = &test::registered("data/leaf");
  const NodeSetup setup = test::node_setup("data/leaf");
  test::TestContext ctx;
  auto w = torch::ones({3}, torch::requires_grad());
  const auto x = w * 2;  // part of another graph
  const auto leaf = make_function(*t, setup)->forward({{"x", x}}, ctx).at("leaf");
  CHECK(leaf.requires_grad());
  CHECK(leaf.is_leaf());
  CHECK(torch::equal(leaf.detach(), x.detach()));
  leaf.sum().backward();
  CHECK(leaf.grad().defined());
  CHECK(!w.grad().defined());  // nothing flows back into what produced the batch
}
