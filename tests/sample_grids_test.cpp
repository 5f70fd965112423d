// Several named samples grids, each a row from each of several outputs drawn together
// (CycleGAN's real A, fake B, reconstructed A): files per grid, rows stacked with the writer's
// row length set, `ganglion sample --grid`, and the mistakes named.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

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
