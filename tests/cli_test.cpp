// The CLI: exit code 2 and one clear line for every user error, help and version.
#include <doctest/doctest.h>

#include <ganglion/abi.h>

#include <filesystem>

#include "test_support.h"

using namespace ganglion;

namespace {

std::string dcgan_path() { return std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json"; }

}  // namespace

TEST_CASE("Cli.BadFilesExitTwoWithOneLine") {
  struct Case {
    const char* what;
    std::string content;
    const char* expected;
  };
  const std::vector<Case> cases{
      {"empty", "", "the file is empty"},
      {"whitespace", "  \n\t", "the file is empty"},
      {"binary", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "this is not a text file"},
      {"truncated", "{\"ganglion\": 1, \"nodes\": {", "invalid JSON at line 1, column 27"},
      {"deep", std::string(5000, '{'), "nesting deeper than 64 levels"},
      {"list", "[1, 2]", "a graph file is a JSON object"},
      {"no nodes", "{\"ganglion\": 1, \"phases\": []}", "missing field \"nodes\""},
  };
  for (const auto& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    const std::string path = test::write_temp(std::string(c.what) + ".json", c.content);
    const auto r = test::run_cli({"validate", path});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find(path + ": ") == 0, r.err);
    CHECK_MESSAGE(r.err.find(c.expected) != std::string::npos, r.err);
    CHECK(r.err.find("terminate") == std::string::npos);
    CHECK(r.err.find("frame #") == std::string::npos);
  }
}

TEST_CASE("Cli.MissingFileAndBadFlags") {
  auto r = test::run_cli({"validate", "/nonexistent/graph.json"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/graph.json: cannot open the file") == 0);

  r = test::run_cli({"valdate", dcgan_path()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown command \"valdate\" (did you mean \"validate\"?)") != std::string::npos);

  r = test::run_cli({"run", dcgan_path(), "--stepz", "3"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown option --stepz (did you mean \"--steps\"?)") != std::string::npos);

  r = test::run_cli({"run", dcgan_path(), "--steps", "many"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--steps many: expected a whole number") != std::string::npos);

  r = test::run_cli({"run", dcgan_path(), "--device", "tpu"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--device tpu: expected cpu, cuda, cuda:N or auto") != std::string::npos);

  r = test::run_cli({"validate", dcgan_path(), "--set", "nodes.z.params.dim=-3"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nodes/z/params/dim: param \"dim\" is -3") != std::string::npos);

  r = test::run_cli({"inspect", "nets/dcgan-generatr"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("did you mean \"nets/dcgan-generator\"") != std::string::npos);
}

TEST_CASE("Cli.ValidatePlanPluginsInspectHelpVersion") {
  REQUIRE(test::mnist_available());
  auto r = test::run_cli({"validate", dcgan_path()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("valid (2 modules, 7 nodes, 2 phases)") != std::string::npos);

  r = test::run_cli({"plugins"});
  CHECK(r.exit_code == 0);
  for (const char* type :
       {"data/idx", "noise/normal", "noise/uniform", "nets/dcgan-generator", "nets/dcgan-discriminator",
        "losses/bce-discriminator", "losses/bce-generator", "io/png-grid"})
    CHECK_MESSAGE(r.out.find(type) != std::string::npos, type);

  r = test::run_cli({"inspect", "nets/dcgan-generator"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("z_dim  int = 100  range 1..65536") != std::string::npos);
  CHECK(r.out.find("libganglion-nets.so") != std::string::npos);
  CHECK(r.out.find("image  float [B,C,H,W]") != std::string::npos);

  r = test::run_cli({"run", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--resume") != std::string::npos);
  CHECK(r.out.find("--set PATH=VALUE") != std::string::npos);

  r = test::run_cli({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("SDK ABI " + std::to_string(GANGLION_SDK_ABI)) != std::string::npos);
}

TEST_CASE("Cli.RunRefusesToOverwriteARun") {
  REQUIRE(test::mnist_available());
  const std::string out = test::temp_dir("overwrite");
  const std::string graph = test::write_temp("tiny.json", test::small_dcgan_graph(256, 32).dump());
  auto r = test::run_cli({"run", graph, "--out", out, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  r = test::run_cli({"run", graph, "--out", out, "--steps", "4", "--threads", "1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("already holds a run") != std::string::npos);
}

TEST_CASE("Cli.CorruptCheckpointIsAClearError") {
  REQUIRE(test::mnist_available());
  const std::string out = test::temp_dir("corrupt");
  const std::string graph = test::write_temp("tiny2.json", test::small_dcgan_graph(256, 32).dump());
  auto r = test::run_cli({"run", graph, "--out", out, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string ckpt = out + "/checkpoints/step-00000002.pt";
  REQUIRE(std::filesystem::exists(ckpt));
  std::filesystem::resize_file(ckpt, 100);
  r = test::run_cli({"run", graph, "--out", out, "--steps", "4", "--resume", "--threads", "1"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find(ckpt + ": not a readable Ganglion checkpoint") != std::string::npos, r.err);
}

TEST_CASE("Cli.NodeFailureNamesTheNode") {
  REQUIRE(test::mnist_available());
  auto g = test::small_dcgan_graph(256, 32);
  g["nodes"]["boom"] = {{"type", "test/throws"}, {"in", {{"x", "d_real"}}}};
  g["phases"][0]["minimize"] = "boom";
  const std::string graph = test::write_temp("boom.json", g.dump());
  const auto r = test::run_cli({"run", graph, "--out", test::temp_dir("boom"), "--steps", "2", "--threads",
                                "1", "--plugin-path", std::string(GANGLION_TEST_PLUGIN_DIR) + "/test-nodes"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(
      r.err.find(graph + ": /nodes/boom: node \"boom\" (test/throws) failed: deliberate failure at step 1") !=
          std::string::npos,
      r.err);
}

TEST_CASE("Cli.CheckpointOfAnotherShapeIsRefusedByName") {
  REQUIRE(test::mnist_available());
  const std::string out = test::temp_dir("shape");
  const std::string graph = test::write_temp("shape.json", test::small_dcgan_graph(256, 32).dump());
  auto r = test::run_cli({"run", graph, "--out", out, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string graph_json = out + "/graph.json";
  r = test::run_cli({"run", graph, "--out", out, "--steps", "4", "--resume", "--threads", "1", "--set",
                     "modules.G.params.width=32"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(
      r.err.find("the checkpoint does not fit this graph: module G: body.0.weight is [100, 256, 4, 4] "
                 "in the checkpoint but [100, 128, 4, 4] in the graph") != std::string::npos,
      r.err);
  // The refused resume leaves the run's record as it was: graph.json still has G's default width.
  const std::string recorded = test::read_file(graph_json);
  CHECK(recorded.find("\"modules\"") != std::string::npos);
  CHECK(recorded.find("\"width\"") == std::string::npos);
}
