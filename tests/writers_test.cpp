// Writers as first-class nodes: their input checked against the contract at load and at run time,
// the extension's dot, `ganglion sample --out` choosing the writer by extension, --weights, and a
// --plugin-path that names nothing.
#include <doctest/doctest.h>

#include <cstdlib>

#include <filesystem>
#include <fstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

const std::string kTestNodes = std::string(GANGLION_TEST_PLUGIN_DIR) + "/test-nodes";

/// gan-ring8 trained for `steps` iterations into a fresh run directory (no eval).
std::string trained_ring(const std::string& name, int steps, const json& samples = nullptr) {
  auto g = test::shipped_graph("gan-ring8");
  g["outputs"].erase("eval");
  if (!samples.is_null()) g["outputs"]["samples"] = samples;
  const std::string graph = test::write_temp(name + ".json", g.dump());
  const std::string out = test::temp_dir(name);
  const auto r = test::run_cli({"run", graph, "--out", out, "--steps", std::to_string(steps), "--threads",
                                "1", "--plugin-path", kTestNodes});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return out;
}

std::size_t lines_in(const std::string& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

TEST_CASE("Writers.TheSamplesWritersInputIsCheckedAgainstItsContract") {
  REQUIRE(test::mnist_available());
  auto g = test::dcgan_graph();
  g["outputs"]["samples"]["from"] = "z";  // [B, Z] into io/png-grid's [B, C, H, W]
  const std::string error = test::error_of([&] { build_graph(g, "g.json", test::builtin_registry()); });
  CHECK_MESSAGE(
      error.find("g.json: /outputs/samples/from: the samples writer io/png-grid's input \"value\" takes "
                 "shape \"B,C,H,W\" (rank 4) but \"z\" gives \"B,Z\" (rank 2)") != std::string::npos,
      error);
}

TEST_CASE("Writers.AnExtensionWithoutItsDotStillNamesFilesProperly") {
  const std::string out =
      trained_ring("csv-run", 2, {{"from", "fake"}, {"every", 1}, {"writer", "test/csv"}});
  // test/csv returns "csv": the engine adds the dot.
  CHECK(std::filesystem::exists(out + "/samples/step-00000001.csv"));
  CHECK_FALSE(std::filesystem::exists(out + "/samples/step-00000001csv"));
  CHECK(lines_in(out + "/samples/step-00000002.csv") == 500);  // one batch of 2-D points
}

TEST_CASE("Writers.SampleOutChoosesTheWriterByItsExtension") {
  const std::string run = trained_ring("ring-sample", 2);
  const std::string dir = test::temp_dir("ring-sample-out");
  auto r =
      test::run_cli({"sample", std::string(GANGLION_SOURCE_DIR) + "/graphs/gan-ring8.json", "--checkpoint",
                     run, "--from", "fake", "--out", dir + "/points.csv", "--plugin-path", kTestNodes});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(lines_in(dir + "/points.csv") == 500);
  CHECK_FALSE(std::filesystem::exists(dir + "/points.csv.tmp"));
  // No writer for the extension: the message lists the writers there are.
  r = test::run_cli({"sample", std::string(GANGLION_SOURCE_DIR) + "/graphs/gan-ring8.json", "--checkpoint",
                     run, "--from", "fake", "--out", dir + "/points.xyz", "--plugin-path", kTestNodes});
  CHECK(r.exit_code == 2);
  // (.avi of io/video is listed too where the images plugin has it.)
  CHECK_MESSAGE(r.err.find("points.xyz: no loaded writer writes .xyz files; writers: .png (io/png-grid), ") !=
                    std::string::npos,
                r.err);
  CHECK_MESSAGE(r.err.find(".csv (test/csv)") != std::string::npos, r.err);
  CHECK_FALSE(std::filesystem::exists(dir + "/points.xyz"));
}

TEST_CASE("Writers.WeightsRawSamplesTheTrainedWeightsInsteadOfTheEma") {
  REQUIRE(test::mnist_available());
  auto g = test::small_dcgan_graph(128, 16);
  g["modules"]["G"]["ema"] = {{"beta", 0.5}};
  const std::string graph = test::write_temp("raw-ema.json", g.dump());
  const std::string out = test::temp_dir("raw-ema");
  auto r = test::run_cli({"run", graph, "--out", out, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto sample = [&](const std::string& weights, const std::string& file) {
    return test::run_cli({"sample", graph, "--checkpoint", out, "--weights", weights, "--out",
                          out + "/" + file, "--threads", "1"});
  };
  REQUIRE(sample("ema", "ema.png").exit_code == 0);
  REQUIRE(sample("raw", "raw.png").exit_code == 0);
  REQUIRE(sample("ema", "ema2.png").exit_code == 0);
  CHECK(test::read_file(out + "/ema.png") == test::read_file(out + "/ema2.png"));
  CHECK(test::read_file(out + "/ema.png") != test::read_file(out + "/raw.png"));
  r = sample("shadow", "x.png");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--weights shadow: expected ema or raw") != std::string::npos);
}

TEST_CASE("Writers.APluginPathThatNamesNothingIsAnError") {
  const auto r = test::run_cli({"plugins", "--plugin-path", "/nonexistent/plugins"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("--plugin-path /nonexistent/plugins: no such folder or file") != std::string::npos,
                r.err);
}

TEST_CASE("Writers.AMissingEntryOfTheEnvironmentsPluginPathIsNamed") {
  // A warning, not an error: the command still runs (one GANGLION_PLUGIN_PATH serves many machines).
  ::setenv("GANGLION_PLUGIN_PATH", "/nonexistent/env-plugins", 1);
  const auto r = test::run_cli({"plugins"});
  ::unsetenv("GANGLION_PLUGIN_PATH");
  CHECK(r.exit_code == 0);
  CHECK_MESSAGE(r.err.find("GANGLION_PLUGIN_PATH names /nonexistent/env-plugins, which does not exist") !=
                    std::string::npos,
                r.err);
}

TEST_CASE("Writers.TheDefaultWriterIsTheOneWhoseContractSaysSoAndFitsTheRank") {
  REQUIRE(test::mnist_available());
  // Images: io/png-grid declares itself the default for B,C,H,W.
  auto g = test::dcgan_graph();
  g["outputs"]["samples"].erase("writer");
  CHECK(build_graph(g, "g.json", test::builtin_registry()).outputs.samples.at(0).writer->contract.type() ==
        "io/png-grid");
  // Noise vectors: no default writer takes them, and the message says what there is.
  g["outputs"]["samples"]["from"] = "z";
  const std::string error = test::error_of([&] { build_graph(g, "g.json", test::builtin_registry()); });
  CHECK_MESSAGE(
      error.find("g.json: /outputs/samples/writer: no default writer takes \"z\" (shape \"B,Z\"): name "
                 "one with \"writer\" (default writers: io/png-grid (B,C,H,W))") != std::string::npos,
      error);
  const auto r = test::run_cli({"inspect", "io/png-grid"});
  CHECK(r.out.find("roles:    the default writer for its input's rank") != std::string::npos);
}
