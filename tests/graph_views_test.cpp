// Pictures and schemas of graphs: `ganglion dot` and `ganglion schema`.
#include <doctest/doctest.h>

#include <filesystem>

#include "ganglion/engine/graph_dot.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/graph_schema.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// Validates `document` against `schema` with Debian's python3-jsonschema; true when valid.
bool schema_accepts(const std::string& schema_path, const json& document, const std::string& name) {
  const std::string doc_path = test::write_temp(name, document.dump());
  const std::string command =
      "/usr/bin/python3 -c 'import json, sys, jsonschema; "
      "jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' '" +
      schema_path + "' '" + doc_path + "' 2> /dev/null";
  return std::system(command.c_str()) == 0;
}

}  // namespace

TEST_CASE("GraphViews.DotShowsEachPhaseWithItsFrozenModules") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(test::dcgan_graph(), "g.json", test::builtin_registry());
  const std::string dot = graph_to_dot(graph, make_plan(graph));
  CHECK(dot.find("subgraph \"cluster_phase_D\"") != std::string::npos);
  CHECK(dot.find("subgraph \"cluster_phase_G\"") != std::string::npos);
  // Numbered in file order, and written last phase first: dot stacks clusters bottom up, so phase D
  // is drawn on top.
  CHECK(dot.find("label=\"1. phase D: minimise d_loss, update D\"") != std::string::npos);
  CHECK(dot.find("subgraph \"cluster_phase_G\"") < dot.find("subgraph \"cluster_phase_D\""));
  // In phase D, G is frozen (dashed, blue) and D updated; in phase G the other way round.
  CHECK(dot.find("subgraph \"cluster_D_module_G\" {\n      label=\"G (frozen)\";\n      "
                 "style=\"filled,rounded,dashed\"") != std::string::npos);
  CHECK(dot.find("subgraph \"cluster_D_module_D\" {\n      label=\"D (updated)\"") != std::string::npos);
  CHECK(dot.find("subgraph \"cluster_G_module_D\" {\n      label=\"D (frozen)\"") != std::string::npos);
  // Edges go from output port to input port, labelled by the port.
  CHECK(dot.find("\"D/z\":\"out_z\" -> \"D/fake\":\"in_z\" [label=\"z\"];") != std::string::npos);
  CHECK(dot.find("\"G/d_real\"") == std::string::npos);  // phase G never scores the real batch
  // The value phase G reuses is drawn dashed; the loss doubly outlined.
  CHECK(dot.find("\"G/fake\" [label=") != std::string::npos);
  CHECK(dot.find("style=dashed, tooltip=\"reused from phase D: G not updated since\"") != std::string::npos);
  CHECK(dot.find("peripheries=2") != std::string::npos);
}

TEST_CASE("GraphViews.DotRendersAPng") {
  const std::string out = test::temp_dir("render") + "/dcgan.png";
  const auto r =
      test::run_cli({"dot", std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json", "--render", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string png = test::read_file(out);
  REQUIRE(png.size() > 1000);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK_FALSE(std::filesystem::exists(out + ".tmp"));

  const auto bad = test::run_cli({"dot", std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json",
                                  "--render", test::temp_dir("render2") + "/x.gif"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("name a .svg, .png or .pdf file") != std::string::npos);
}

TEST_CASE("GraphViews.TheShippedSchemaIsWhatTheContractsSay") {
  // graphs/ganglion.schema.json is committed so that `$schema` works from a checkout; it must be
  // regenerated (`ganglion schema > graphs/ganglion.schema.json`) whenever a contract changes.
  const std::string shipped =
      test::read_file(std::string(GANGLION_SOURCE_DIR) + "/graphs/ganglion.schema.json");
  const auto r = test::run_cli({"schema"});
  REQUIRE(r.exit_code == 0);
  CHECK_MESSAGE(r.out == shipped,
                "graphs/ganglion.schema.json is stale: regenerate it with `ganglion schema`");
}

TEST_CASE("GraphViews.SchemaAcceptsTheGraphsAndRejectsBrokenOnes") {
  const std::string schema_path =
      test::write_temp("schema.json", graph_schema(test::builtin_registry()).dump());
  for (const auto& f : std::filesystem::directory_iterator(std::string(GANGLION_SOURCE_DIR) + "/graphs")) {
    if (f.path().filename() == "ganglion.schema.json" || f.path().extension() != ".json") continue;
    const json graph = json::parse(test::read_file(f.path().string()));
    CHECK_MESSAGE(schema_accepts(schema_path, graph, "ok.json"), f.path().string());
  }
  json g = test::dcgan_graph();
  CHECK(schema_accepts(schema_path, g, "dcgan.json"));
  g["nodes"]["z"]["params"]["dims"] = 3;  // no such param
  CHECK_FALSE(schema_accepts(schema_path, g, "bad1.json"));
  g = test::dcgan_graph();
  g["nodes"]["batch"]["params"]["batch"] = "64";  // wrong type
  CHECK_FALSE(schema_accepts(schema_path, g, "bad2.json"));
  g = test::dcgan_graph();
  g["modules"]["G"]["type"] = "nets/dcgan-generatr";  // unknown type
  CHECK_FALSE(schema_accepts(schema_path, g, "bad3.json"));
  g = test::dcgan_graph();
  // A node that applies a module: its ports depend on the module, which the schema does not follow.
  g["nodes"]["fake"]["in"]["noise"] = "z";
  CHECK(schema_accepts(schema_path, g, "apply.json"));
  g = test::dcgan_graph();
  g["nodes"]["d_loss"]["in"]["reel"] = "d_real";  // unknown input of a typed node
  CHECK_FALSE(schema_accepts(schema_path, g, "bad4.json"));
  g = test::dcgan_graph();
  g["phases"][0]["every"] = 0;
  CHECK_FALSE(schema_accepts(schema_path, g, "bad5.json"));
}
