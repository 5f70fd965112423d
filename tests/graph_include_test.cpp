// Graph fragments ("include" and --include): what they add is part of the graph (and of the run's
// graph.json, with no "include" left); clashes, stray keys and mistakes inside a fragment are
// reported against the fragment's file and JSON path; --set reaches what they add.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;
using test::error_of;
namespace fs = std::filesystem;

namespace {

// A fragment with a metric on the DCGAN graph's "fake" and "batch", and an eval output.
json probe() {
  return json::parse(R"({
    "description": "a test probe",
    "modules": {"probe_net": {"type": "nets/cnn-classifier", "params": {"channels": 1, "classes": 10}}},
    "nodes": {
      "probe_fake": {"apply": "probe_net", "in": {"image": "fake"}},
      "probe_real": {"apply": "probe_net", "in": {"image": "batch.image"}},
      "probe_pr": {"type": "metrics/precision-recall", "params": {"k": 3},
                   "in": {"real": "probe_real.features", "fake": "probe_fake.features"}}
    },
    "outputs": {"eval": {"every": 7, "samples": 64}}
  })");
}

}  // namespace

TEST_CASE("GraphInclude.FragmentsJoinTheGraph") {
  REQUIRE(test::mnist_available());
  const std::string dir = test::temp_dir("include");
  fs::create_directories(dir + "/probes");
  { std::ofstream(dir + "/probes/p.json") << probe().dump(2); }
  // Named in the graph, relative to the graph's folder.
  json graph = test::dcgan_graph();
  graph["include"] = {"probes/p.json"};
  { std::ofstream(dir + "/g.json") << graph.dump(2); }
  const Graph g = load_graph(dir + "/g.json", {}, test::builtin_registry());
  CHECK(g.find_node("probe_pr") >= 0);
  CHECK(g.find_module("probe_net") >= 0);
  CHECK(g.outputs.eval.every == 7);
  CHECK_FALSE(g.document.contains("include"));  // graph.json of a run is whole on its own
  CHECK(g.document["nodes"].contains("probe_pr"));

  // Given on the command line instead, relative to the working folder; --set reaches into it.
  const Graph h =
      load_graph(test::write_temp("plain.json", test::dcgan_graph().dump()), {"nodes.probe_pr.params.k=5"},
                 test::builtin_registry(), {dir + "/probes/p.json"});
  CHECK(h.document["nodes"]["probe_pr"]["params"]["k"] == 5);
}

TEST_CASE("GraphInclude.ProblemsNameTheFragment") {
  REQUIRE(test::mnist_available());
  const std::string graph_file = test::write_temp("graph.json", test::dcgan_graph().dump());
  const auto load_with = [&](const json& fragment) {
    const std::string file = test::write_temp("fragment.json", fragment.dump());
    return error_of([&] { load_graph(graph_file, {}, test::builtin_registry(), {file}); });
  };
  const std::string fragment_file = fs::path(test::write_temp("fragment.json", "{}")).string();

  json clash = probe();
  clash["nodes"]["fake"] = clash["nodes"]["probe_pr"];
  CHECK(load_with(clash) == fragment_file + ": /nodes/fake: \"fake\" is already in nodes of " + graph_file +
                                ": rename one of them");

  json phases = probe();
  phases["phases"] = json::array();
  CHECK(load_with(phases) == fragment_file +
                                 ": /phases: a fragment holds only modules, nodes and outputs (and a "
                                 "description), not \"phases\"");

  json nested = probe();
  nested["include"] = {"other.json"};
  CHECK(load_with(nested).find(fragment_file + ": /include: a fragment cannot include others") == 0);

  // A mistake inside what the fragment added is reported against the fragment, not the graph.
  json typo = probe();
  typo["nodes"]["probe_fake"]["in"]["image"] = "fak";
  const std::string message = load_with(typo);
  CHECK(message.find(fragment_file + ": /nodes/probe_fake/in/image:") == 0);
  CHECK(message.find("did you mean \"fake\"") != std::string::npos);

  CHECK(error_of([&] {
          load_graph(graph_file, {}, test::builtin_registry(), {"/no/such/fragment.json"});
        }).find("/no/such/fragment.json: cannot open") == 0);
}

TEST_CASE("GraphInclude.CliTakesInclude") {
  REQUIRE(test::mnist_available());
  const std::string fragment = test::write_temp("cli-fragment.json", probe().dump());
  auto ok = test::run_cli(
      {"validate", std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json", "--include", fragment});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("3 modules, 10 nodes") != std::string::npos);
  auto bad = test::run_cli(
      {"plan", std::string(GANGLION_SOURCE_DIR) + "/graphs/cgan-mnist.json", "--include", fragment});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("\"eval\" is already in outputs of") != std::string::npos);
}

TEST_CASE("GraphInclude.MnistProbeMeasuresTheUnconditionalGraphs") {
  REQUIRE(test::mnist_available());
  const std::string graphs = std::string(GANGLION_SOURCE_DIR) + "/graphs/";
  const std::string probe = graphs + "probes/mnist-quality.json";
  // Every graph bench/quality.sh measures through a probe takes it.
  for (const char* stem :
       {"gan-mnist", "dcgan-mnist", "lsgan-mnist", "hinge-sn-mnist", "wgan-gp-mnist", "dcgan-r1-ema-mnist"}) {
    CAPTURE(stem);
    CHECK(test::run_cli({"validate", graphs + stem + ".json", "--include", probe}).exit_code == 0);
  }
  CHECK(test::run_cli(
            {"validate", graphs + "dcgan-lfw-32.json", "--include", graphs + "probes/lfw-quality.json"})
            .exit_code == 0);
  // A two-iteration classifier run stands in for runs/classifier-mnist; DCGAN is trained and
  // scored through the probe.
  const std::string classifier = test::temp_dir("probe-classifier"), run = test::temp_dir("probe-dcgan");
  REQUIRE(test::run_cli({"run", graphs + "classifier-mnist.json", "--out", classifier, "--steps", "2",
                         "--threads", "1", "--device", "cpu"})
              .exit_code == 0);
  const std::vector<std::string> common{
      "--include", probe, "--set",    "modules.probe_classifier.weights.from=" + classifier,
      "--threads", "1",   "--device", "cpu"};
  std::vector<std::string> train{"run",   graphs + "dcgan-mnist.json", "--out", run, "--steps", "2",
                                 "--set", "outputs.eval.samples=128"};
  train.insert(train.end(), common.begin(), common.end());
  const auto trained = test::run_cli(train);
  REQUIRE_MESSAGE(trained.exit_code == 0, trained.err);
  std::vector<std::string> eval{
      "eval", graphs + "dcgan-mnist.json", "--checkpoint", run, "--samples", "128", "--json", "-"};
  eval.insert(eval.end(), common.begin(), common.end());
  const auto scored = test::run_cli(eval);
  REQUIRE_MESSAGE(scored.exit_code == 0, scored.err);
  const json figures = json::parse(scored.out).at("metrics");
  CHECK(figures.at("fd").at("fd").get<double>() > 0);
  CHECK(figures.at("kid").contains("kid"));
  CHECK(figures.at("pr").contains("recall"));
  // The run's graph.json is the merged graph: it evaluates without --include.
  const json recorded = json::parse(test::read_file(run + "/graph.json"));
  CHECK(recorded.at("nodes").contains("fd"));
}

TEST_CASE("GraphInclude.EditRefusesUnmergedIncludes") {
  // build_graph works on a document alone (ganglion edit): it must not check a graph without its
  // fragments and call it fine.
  json graph = test::dcgan_graph();
  graph["include"] = {"probes/mnist-quality.json"};
  CHECK(error_of([&] {
          build_graph(graph, "g.json", test::builtin_registry());
        }).find("g.json: /include: fragments are merged only when a graph is loaded from its file") == 0);
  // A section of the graph that is not an object cannot take a fragment's entries.
  json broken = test::dcgan_graph();
  broken["modules"] = json::array();
  const std::string fragment = test::write_temp("modules-fragment.json", probe().dump());
  const std::string file = test::write_temp("broken.json", broken.dump());
  CHECK(error_of([&] {
          load_graph(file, {}, test::builtin_registry(), {fragment});
        }).find(file + ": /modules: expected an object, so that " + fragment + " can add to it") == 0);
}
