// Several named samples grids, each a row from each of several outputs drawn together
// (CycleGAN's real A, fake B, reconstructed A): files per grid, rows stacked with the writer's
// row length set, `ganglion sample --grid`, and the mistakes named.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <ganglion/plugin.h>
#include "ganglion/engine/checkpoint.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;
using ganglion::test::contains;

namespace {

const std::string kTestNodes = std::string(GANGLION_TEST_PLUGIN_DIR) + "/test-nodes";

/// gan-ring8 with two grids as CSV: real and fake points a row each, and the fakes alone.
json ring_with_grids() {
  auto g = test::shipped_graph("gan-ring8");
  g["outputs"].erase("eval");
  g["outputs"]["samples"] = {{"pair", {{"rows", {"real.x", "fake"}}, {"every", 1}, {"writer", "test/csv"}}},
                             {"fakes", {{"from", "fake"}, {"every", 2}, {"writer", "test/csv"}}}};
  return g;
}

std::vector<std::string> lines_of(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("SampleGrids.EachNamedGridIsWrittenWithItsRowsStacked") {
  const Graph parsed = build_graph(ring_with_grids(), "g.json", test::builtin_registry());
  REQUIRE(parsed.outputs.samples.size() == 2);
  CHECK(parsed.find_samples("pair")->rows.size() == 2);
  CHECK(parsed.find_samples("")->name == "fakes");  // the first by name
  const std::string graph = test::write_temp("grids.json", ring_with_grids().dump());
  const std::string out = test::temp_dir("grids-run");
  auto r = test::run_cli(
      {"run", graph, "--out", out, "--steps", "2", "--threads", "1", "--plugin-path", kTestNodes});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  namespace fs = std::filesystem;
  CHECK(fs::exists(out + "/samples/pair-step-00000001.csv"));
  CHECK(fs::exists(out + "/samples/pair-step-00000002.csv"));
  CHECK_FALSE(fs::exists(out + "/samples/fakes-step-00000001.csv"));  // every 2
  CHECK(fs::exists(out + "/samples/fakes-step-00000002.csv"));
  // 500 real points, the writer's row length ("--" after every 500), then 500 fakes.
  const auto pair = lines_of(out + "/samples/pair-step-00000002.csv");
  REQUIRE(pair.size() == 1002);
  CHECK(pair[500] == "--");
  CHECK(pair[1001] == "--");
  // The real row is the data set's first batch: the same at every step.
  const auto first = lines_of(out + "/samples/pair-step-00000001.csv");
  CHECK(std::equal(first.begin(), first.begin() + 500, pair.begin()));
  CHECK(lines_of(out + "/samples/fakes-step-00000002.csv").size() == 500);  // one output: no rows set
  // ganglion sample picks a grid by name.
  r = test::run_cli({"sample", graph, "--checkpoint", out, "--grid", "pair", "--out", out + "/again.csv",
                     "--threads", "1", "--plugin-path", kTestNodes});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("1000 rows of real.x, fake at step 2") != std::string::npos);
  CHECK(lines_of(out + "/again.csv") == pair);
  r = test::run_cli({"sample", graph, "--checkpoint", out, "--grid", "pairs", "--plugin-path", kTestNodes});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--grid pairs: no such grid (did you mean \"pair\"?); the graph's grids: fakes, pair") !=
        std::string::npos);
}

TEST_CASE("SampleGrids.MistakesAreNamed") {
  const auto& reg = test::builtin_registry();
  auto errors = [&](const json& samples) {
    auto g = ring_with_grids();
    g["outputs"]["samples"] = samples;
    return test::error_of([&] { build_graph(g, "g.json", reg); });
  };
  CHECK(errors({{"pair", {{"rows", json::array()}}}})
            .find("g.json: /outputs/samples/pair/rows: expected a list") != std::string::npos);
  CHECK(errors({{"from", "fake"}, {"rows", {"fake"}}})
            .find("g.json: /outputs/samples: give \"from\" or \"rows\", not both") != std::string::npos);
  CHECK(errors({{"a b", {{"from", "fake"}}}})
            .find("g.json: /outputs/samples/a b: a grid's name uses letters") != std::string::npos);
  CHECK(errors({{"pair", {{"rows", {"real.x", "fakee"}}, {"writer", "test/csv"}}}})
            .find("g.json: /outputs/samples/pair/rows/1: no node \"fakee\"") != std::string::npos);
  CHECK(
      errors({{"pair", {{"rows", {"real.x", "real.mode"}}, {"writer", "test/csv"}}}})
          .find("/outputs/samples/pair/rows/1: the samples writer test/csv's input \"value\" takes float") !=
      std::string::npos);
  // Rows whose shapes do not stack fail when the grid is drawn, naming the row.
  auto g = ring_with_grids();
  g["outputs"]["samples"] = {{"pair", {{"rows", {"real.x", "z"}}, {"every", 1}, {"writer", "test/csv"}}}};
  const std::string graph = test::write_temp("grids-bad.json", g.dump());
  const auto r = test::run_cli({"run", graph, "--out", test::temp_dir("grids-bad"), "--steps", "1",
                                "--threads", "1", "--plugin-path", kTestNodes});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(
            "/outputs/samples/pair/rows/1: the rows of samples grid /outputs/samples/pair do not stack") !=
        std::string::npos);
}

namespace {

/// gan-ring8 with a 2-number code, so that G's output can stand in for its input, and a sequence
/// grid of three steps that feeds each step's fakes to the next as its code.
json ring_with_sequence() {
  auto g = test::shipped_graph("gan-ring8");
  g.erase("$schema");
  g["outputs"].erase("eval");
  g["modules"]["G"]["params"]["z_dim"] = 2;
  g["nodes"]["z"]["params"]["dim"] = 2;
  g["nodes"]["real"]["params"]["batch"] = 16;
  g["outputs"]["samples"] = {{"chain",
                              {{"from", "fake"},
                               {"every", 2},
                               {"writer", "test/csv"},
                               {"sequence", {{"steps", 3}, {"axis", 1}, {"feed", {{"z", "fake"}}}}}}}};
  return g;
}

}  // namespace

TEST_CASE("SampleGrids.ASequenceFeedsEachStepsOutputToTheNextAndJoinsThem") {
  const std::string graph = test::write_temp("sequence.json", ring_with_sequence().dump());
  const std::string out = test::temp_dir("sequence-run");
  auto r = test::run_cli(
      {"run", graph, "--out", out, "--steps", "2", "--threads", "1", "--plugin-path", kTestNodes});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto lines = lines_of(out + "/samples/chain-step-00000002.csv");
  REQUIRE(lines.size() == 16);
  CHECK(std::count(lines[0].begin(), lines[0].end(), ',') == 5);  // three steps of two numbers

  // Each step's code was the step before's fakes: G applied to columns 0-1 gives columns 2-3.
  PluginRegistry registry;
  registry.load(PluginRegistry::search_path({kTestNodes}));
  const Graph g = load_graph(graph, {}, registry);
  const Plan plan = make_plan(g);
  Executor executor(g, plan, torch::kCPU);
  read_checkpoint(out + "/checkpoints/step-00000002.pt", executor);
  const SamplesSpec& grid = g.outputs.samples.front();
  const auto joined = sample_sequence(executor, g, grid, 3).front();
  REQUIRE(joined.sizes() == torch::IntArrayRef({16, 6}));
  const int fake = g.find_node("fake");
  const auto second = executor.apply_module(fake, {{"z", joined.narrow(1, 0, 2)}}).begin()->second;
  CHECK(torch::allclose(second, joined.narrow(1, 2, 2), 1e-5, 1e-6));
  const auto third = executor.apply_module(fake, {{"z", second}}).begin()->second;
  CHECK(torch::allclose(third, joined.narrow(1, 4, 2), 1e-5, 1e-6));
  // The same draw again: a sequence repeats.
  CHECK(torch::equal(sample_sequence(executor, g, grid, 3).front(), joined));

  // A sequence joins along a dimension the output has, with a feed that fits.
  auto bad = ring_with_sequence();
  bad["outputs"]["samples"]["chain"]["sequence"]["axis"] = 2;
  r = test::run_cli({"run", test::write_temp("bad-axis.json", bad.dump()), "--out",
                     test::temp_dir("bad-axis"), "--steps", "2", "--threads", "1", "--plugin-path",
                     kTestNodes});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "which has no dimension 2 to join the sequence's steps along"));
  bad = ring_with_sequence();
  bad["outputs"]["samples"]["chain"]["sequence"]["feed"] = {{"real.x", "d_fake"}};
  r = test::run_cli({"run", test::write_temp("bad-feed.json", bad.dump()), "--out",
                     test::temp_dir("bad-feed"), "--steps", "2", "--threads", "1", "--plugin-path",
                     kTestNodes});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "cannot hold a value of shape"));
  bad = ring_with_sequence();
  bad["outputs"]["samples"]["chain"]["sequence"] = {{"feed", {{"nowhere", "fake"}}}};
  r = test::run_cli({"validate", test::write_temp("bad-seq.json", bad.dump()), "--plugin-path", kTestNodes});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "/outputs/samples/chain/sequence: missing field \"steps\""));
  CHECK(contains(r.err, "/outputs/samples/chain/sequence/feed/nowhere"));
}
