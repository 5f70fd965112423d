// Every kind of bad graph gives one clear message naming the file and the JSON path.
#include <doctest/doctest.h>

#include <functional>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// The messages build_graph reports for `document`, one per line; "" when it is valid.
std::string errors_of(const json& document) {
  try {
    build_graph(document, "g.json", test::builtin_registry());
    return "";
  } catch (const UserError& e) {
    return e.what();
  }
}

struct BadGraph {
  const char* what;
  std::function<void(json&)> edit;
  const char* expected;
};

}  // namespace

TEST_CASE("GraphErrors.TheShippedDcganGraphIsValid") {
  REQUIRE(test::mnist_available());
  CHECK(errors_of(test::dcgan_graph()) == "");
}

TEST_CASE("GraphErrors.EachMistakeNamesItsPlace") {
  REQUIRE(test::mnist_available());
  const std::vector<BadGraph> table{
      {"unknown node type", [](json& g) { g["nodes"]["z"]["type"] = "noise/normall"; },
       "g.json: /nodes/z/type: unknown node type \"noise/normall\" (did you mean \"noise/normal\""},
      {"unknown param", [](json& g) { g["nodes"]["z"]["params"]["dims"] = 3; },
       "g.json: /nodes/z/params/dims: noise/normal has no param \"dims\" (did you mean \"dim\"?)"},
      {"ill-typed param", [](json& g) { g["nodes"]["z"]["params"]["dim"] = "100"; },
       "g.json: /nodes/z/params/dim: param \"dim\" expects an integer, found a string"},
      {"out-of-range param", [](json& g) { g["nodes"]["batch"]["params"]["batch"] = 0; },
       "g.json: /nodes/batch/params/batch: param \"batch\" is 0, outside its range 1.."},
      {"float out of range", [](json& g) { g["nodes"]["d_loss"]["params"]["smooth"] = 0.9; },
       "g.json: /nodes/d_loss/params/smooth: param \"smooth\" is 0.9, outside its range 0.0..0.5"},
      {"missing required param", [](json& g) { g["nodes"]["batch"]["params"].erase("images"); },
       "g.json: /nodes/batch/params: missing required param \"images\" of data/idx"},
      {"missing file", [](json& g) { g["nodes"]["batch"]["params"]["images"] = "/nonexistent/x-ubyte"; },
       "g.json: /nodes/batch/params/images: file not found: /nonexistent/x-ubyte"},
      {"missing required input", [](json& g) { g["nodes"]["fake"]["in"].erase("z"); },
       "g.json: /nodes/fake/in: missing required input \"z\" of nets/dcgan-generator"},
      {"reference to a missing node", [](json& g) { g["nodes"]["fake"]["in"]["z"] = "zz"; },
       "g.json: /nodes/fake/in/z: no node \"zz\" (did you mean \"z\"?)"},
      {"reference to a missing port", [](json& g) { g["nodes"]["d_real"]["in"]["image"] = "batch.img"; },
       "g.json: /nodes/d_real/in/image: node \"batch\" (data/idx) has no output \"img\""},
      {"ambiguous reference", [](json& g) { g["nodes"]["d_real"]["in"]["image"] = "batch"; },
       "g.json: /nodes/d_real/in/image: node \"batch\" has several outputs (image, label): name one"},
      {"unknown input port", [](json& g) { g["nodes"]["fake"]["in"]["noise"] = "z"; },
       "g.json: /nodes/fake/in/noise: nets/dcgan-generator has no input \"noise\""},
      {"dtype mismatch", [](json& g) { g["nodes"]["d_loss"]["in"]["real"] = "batch.label"; },
       "g.json: /nodes/d_loss/in/real: input \"real\" takes float but \"batch.label\" gives long"},
      {"rank mismatch", [](json& g) { g["nodes"]["d_real"]["in"]["image"] = "z"; },
       "g.json: /nodes/d_real/in/image: input \"image\" takes shape \"B,C,H,W\" (rank 4) but \"z\" gives "
       "\"B,Z\" (rank 2)"},
      {"non-scalar minimize", [](json& g) { g["phases"][0]["minimize"] = "d_real"; },
       "g.json: /phases/0/minimize: \"d_real\" is not a scalar (its shape is \"B\"): minimize a loss"},
      {"minimize a missing node", [](json& g) { g["phases"][1]["minimize"] = "g_los"; },
       "g.json: /phases/1/minimize: no node \"g_los\" (did you mean \"g_loss\""},
      {"update an unknown module", [](json& g) { g["phases"][0]["update"] = {"DD"}; },
       "g.json: /phases/0/update/0: no module \"DD\" (did you mean \"D\""},
      {"apply an unknown module", [](json& g) { g["nodes"]["fake"]["apply"] = "Gen"; },
       "g.json: /nodes/fake/apply: no module \"Gen\""},
      {"unknown top-level field", [](json& g) { g["phase"] = json::array(); },
       "g.json: /phase: unknown field \"phase\" (did you mean \"phases\"?)"},
      {"wrong format version", [](json& g) { g["ganglion"] = 2; },
       "g.json: /ganglion: format version 2 is not supported"},
      {"unknown optimizer", [](json& g) { g["phases"][0]["optimizer"]["type"] = "adamw"; },
       "g.json: /phases/0/optimizer/type: unknown optimizer \"adamw\" (did you mean \"adam\"?)"},
      {"bad betas", [](json& g) { g["phases"][0]["optimizer"]["betas"] = {0.5}; },
       "g.json: /phases/0/optimizer/betas: expected two numbers in [0, 1)"},
      {"module used as a node",
       [](json& g) {
         g["nodes"]["fake"] = {{"type", "nets/dcgan-generator"}};
       },
       "g.json: /nodes/fake/type: \"nets/dcgan-generator\" is a module: declare it under \"modules\""},
      {"every below one", [](json& g) { g["phases"][0]["every"] = 0; },
       "g.json: /phases/0/every: \"every\" is 0, must be at least 1"},
      {"draw on a non-source", [](json& g) { g["nodes"]["d_loss"]["draw"] = "per-phase"; },
       "g.json: /nodes/d_loss/draw: only sources draw samples"},
      {"samples from a missing node", [](json& g) { g["outputs"]["samples"]["from"] = "fakes"; },
       "g.json: /outputs/samples/from: no node \"fakes\" (did you mean \"fake\"?)"},
      {"module that cannot influence the loss",
       [](json& g) {
         g["modules"]["E"] = {{"type", "nets/dcgan-discriminator"}};
         g["phases"][0]["update"] = {"D", "E"};
       },
       "g.json: /phases/0/update/1: module \"E\" does not influence \"d_loss\": this phase could never train "
       "it"},
      {"integer loss", [](json& g) { g["phases"][0]["minimize"] = "batch.label"; },
       "g.json: /phases/0/minimize: \"batch.label\" is not a scalar"},
      {"seed too large", [](json& g) { g["seed"] = json(std::uint64_t(1) << 63); },
       "g.json: /seed: \"seed\" is 9223372036854775808, too large"},
      {"unknown schedule",
       [](json& g) {
         g["phases"][0]["optimizer"]["schedule"] = {{"type", "cosine"}};
       },
       "g.json: /phases/0/optimizer/schedule/type: unknown schedule \"cosine\""},
      {"schedule ending before it starts",
       [](json& g) {
         g["phases"][0]["optimizer"]["schedule"] = {{"type", "linear"}, {"start", 100}, {"end", 50}};
       },
       "g.json: /phases/0/optimizer/schedule/end: the decay must end after it starts"},
      {"step schedule without every",
       [](json& g) {
         g["phases"][1]["optimizer"]["schedule"] = {{"type", "step"}, {"gamma", 0.5}};
       },
       "g.json: /phases/1/optimizer/schedule: missing field \"every\""},
      {"eval without metrics",
       [](json& g) {
         g["outputs"]["eval"] = {{"every", 10}};
       },
       "g.json: /outputs/eval: the graph has no node of a metrics/ type"},
      {"eval naming a module node",
       [](json& g) {
         g["outputs"]["eval"] = {{"metrics", {"fake"}}};
       },
       "g.json: /outputs/eval/metrics/0: node \"fake\" is a nets/dcgan-generator, not a function node"},
      {"not an object", [](json& g) { g = json::array(); },
       "g.json: a graph file is a JSON object, but this one holds a list"},
  };
  for (const auto& bad : table) {
    const std::string what = bad.what;
    CAPTURE(what);
    json g = test::dcgan_graph();
    bad.edit(g);
    const std::string errors = errors_of(g);
    CHECK_MESSAGE(errors.find(bad.expected) != std::string::npos, "got: " << errors);
  }
}

TEST_CASE("GraphErrors.AllProblemsAreReportedAtOnce") {
  json g = test::dcgan_graph();
  g["nodes"]["z"]["params"]["dims"] = 3;
  g["nodes"]["fake"]["in"]["z"] = "zz";
  g["phases"][0]["update"] = {"DD"};
  const std::string errors = errors_of(g);
  CHECK(errors.find("/nodes/z/params/dims") != std::string::npos);
  CHECK(errors.find("/nodes/fake/in/z") != std::string::npos);
  CHECK(errors.find("/phases/0/update/0") != std::string::npos);
}

TEST_CASE("GraphErrors.CycleIsNamed") {
  json g = test::dcgan_graph();
  // z reads d_fake, which depends on fake, which reads z.
  g["nodes"]["z"]["in"]["like"] = "d_fake";
  const std::string errors = errors_of(g);
  CHECK_MESSAGE(errors.find("g.json: /nodes: the nodes form a cycle: ") != std::string::npos, errors);
  // Each edge of the cycle, whichever node the message starts from.
  for (const char* edge : {"z -> fake", "fake -> d_fake", "d_fake -> z"})
    CHECK_MESSAGE(errors.find(edge) != std::string::npos, errors);
}

TEST_CASE("GraphErrors.InvalidJsonGivesLineAndColumn") {
  CHECK_THROWS_WITH(parse_json_text("{\n  \"a\": 1,\n  \"b\" 2\n}", "x.json"),
                    doctest::Contains("x.json: invalid JSON at line 3, column 7"));
  CHECK_THROWS_WITH(parse_json_text("", "x.json"), doctest::Contains("x.json: the file is empty"));
  CHECK_THROWS_WITH(parse_json_text(std::string("\x7f"
                                                "ELF\x02\x01\x01\0\0",
                                                9),
                                    "x.json"),
                    doctest::Contains("x.json: this is not a text file"));
  CHECK_THROWS_WITH(parse_json_text(std::string(100000, '[') + std::string(100000, ']'), "x.json"),
                    doctest::Contains("nesting deeper than 64 levels"));
  CHECK_THROWS_WITH(parse_json_text("{\"a\": \"\xff\xfe\"}", "x.json"),
                    doctest::Contains("x.json: invalid JSON"));
  CHECK_THROWS_WITH(parse_json_text("{\"a\": 1e999}", "x.json"), doctest::Contains("x.json: invalid JSON"));
}

TEST_CASE("GraphErrors.OverridesApplyAndFailClearly") {
  json g = {{"nodes", {{"batch", {{"params", {{"batch", 64}}}}}}}, {"phases", {{{"lr", 1}}}}};
  apply_override(g, "nodes.batch.params.batch=32");
  CHECK(g["nodes"]["batch"]["params"]["batch"] == 32);
  apply_override(g, "/nodes/batch/params/images=a/b.idx");
  CHECK(g["nodes"]["batch"]["params"]["images"] == "a/b.idx");
  apply_override(g, "phases.0.lr=0.5");
  CHECK(g["phases"][0]["lr"] == 0.5);
  CHECK_THROWS_WITH(apply_override(g, "phases.3.lr=1"), doctest::Contains("/phases has only 1 entries"));
  CHECK_THROWS_WITH(apply_override(g, "novalue"), doctest::Contains("expected PATH=VALUE"));
}
