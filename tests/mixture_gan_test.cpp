// The original GAN's pieces on 2-D mixtures: the data source, the MLP nets, the mode-coverage
// metric against hand-placed samples, and `ganglion eval` / outputs.eval end to end.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using nlohmann::json;

namespace {

const RegisteredType& type_of(const std::string& name) { return test::registered(name); }

NodeSetup setup_for(const std::string& type, const std::map<std::string, ParamValue>& params) {
  return test::node_setup(type, params);
}

TensorMap mixture_modes(const torch::Tensor& samples, const std::map<std::string, ParamValue>& params = {}) {
  test::TestContext ctx;
  return make_function(type_of("metrics/mixture-modes"), setup_for("metrics/mixture-modes", params))
      ->forward({{"samples", samples}}, ctx);
}

json ring_graph(int steps) {
  json g = test::shipped_graph("gan-ring8");
  g.erase("$schema");
  g["steps"] = steps;
  g["nodes"]["real"]["params"]["batch"] = 64;
  g["modules"]["G"]["params"]["hidden"] = 32;
  g["modules"]["D"]["params"]["hidden"] = 32;
  g["outputs"] = {{"eval", {{"every", 4}, {"samples", 300}}},
                  {"checkpoint", {{"every", 4}, {"keep", 1}}},
                  {"log", {{"every", 2}}}};
  return g;
}

}  // namespace

TEST_CASE("Mixtures.SourceDrawsAroundTheCentres") {
  test::TestContext ctx;
  auto ring = make_source(type_of("data/gaussian-mixture"),
                          setup_for("data/gaussian-mixture", {{"batch", int64_t(4000)}, {"std", 0.05}}));
  const auto out = ring->next({}, ctx);
  const auto x = out.at("x"), mode = out.at("mode");
  REQUIRE(x.sizes() == torch::IntArrayRef({4000, 2}));
  CHECK(mode.max().item<int64_t>() == 7);
  CHECK(mode.min().item<int64_t>() == 0);
  for (int64_t k : {0, 2, 5}) {
    const auto points = x.index({mode == k});
    const double angle = 2 * M_PI * double(k) / 8;
    CHECK(points.select(1, 0).mean().item<double>() == doctest::Approx(std::cos(angle)).epsilon(0.02));
    CHECK(points.select(1, 1).mean().item<double>() == doctest::Approx(std::sin(angle)).epsilon(0.02));
    CHECK(points.select(1, 0).std().item<double>() == doctest::Approx(0.05).epsilon(0.15));
  }
  auto grid = make_source(
      type_of("data/gaussian-mixture"),
      setup_for("data/gaussian-mixture",
                {{"layout", std::string("grid")}, {"modes", int64_t(25)}, {"batch", int64_t(5000)}}));
  const auto g = grid->next({}, ctx).at("x");
  CHECK(g.min().item<double>() == doctest::Approx(-4.0).epsilon(0.02));
  CHECK(g.max().item<double>() == doctest::Approx(4.0).epsilon(0.02));
  CHECK_THROWS_WITH_AS(make_source(type_of("data/gaussian-mixture"),
                                   setup_for("data/gaussian-mixture",
                                             {{"layout", std::string("grid")}, {"modes", int64_t(24)}})),
                       doctest::Contains("square number of modes"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_source(type_of("data/gaussian-mixture"),
                                   setup_for("data/gaussian-mixture", {{"layout", std::string("spiral")}})),
                       doctest::Contains("choose ring or grid"), std::invalid_argument);
}

TEST_CASE("Mixtures.ModeCoverageCountsModesAndHighQualitySamples") {
  // 8 ring centres; 300 samples on modes 0, 1 and 2 (100 each, 0.01 off centre), 100 far away.
  std::vector<torch::Tensor> parts;
  for (int k = 0; k < 3; ++k) {
    const double a = 2 * M_PI * k / 8;
    parts.push_back(torch::tensor({std::cos(a) + 0.01, std::sin(a)}).to(torch::kFloat).repeat({100, 1}));
  }
  parts.push_back(torch::full({100, 2}, 5.0));
  const auto samples = torch::cat(parts);
  auto out = mixture_modes(samples);
  CHECK(out.at("modes").item<double>() == 3);
  CHECK(out.at("high_quality").item<double>() == doctest::Approx(0.75));
  // Within 3 std (0.03) only: a wider tolerance accepts nothing more, a tighter one rejects all.
  CHECK(mixture_modes(samples, {{"sigmas", 0.5}}).at("modes").item<double>() == 0);
  // A mode needs min_samples high-quality samples.
  CHECK(mixture_modes(samples, {{"min_samples", int64_t(101)}}).at("modes").item<double>() == 0);
  // Every centre exactly: all 8 covered, all high quality.
  test::TestContext ctx;
  auto centres = make_source(type_of("data/gaussian-mixture"),
                             setup_for("data/gaussian-mixture", {{"std", 0.0}, {"batch", int64_t(400)}}))
                     ->next({}, ctx)
                     .at("x");
  out = mixture_modes(centres);
  CHECK(out.at("modes").item<double>() == 8);
  CHECK(out.at("high_quality").item<double>() == 1);
  CHECK_THROWS_WITH_AS(mixture_modes(torch::zeros({4, 3})), doctest::Contains("N x 2"),
                       std::invalid_argument);
}

TEST_CASE("Mixtures.MlpNetsTakeAnyShape") {
  auto g = make_module(type_of("nets/mlp-generator"),
                       setup_for("nets/mlp-generator", {{"z_dim", int64_t(8)},
                                                        {"shape", std::string("1,28,28")},
                                                        {"hidden", int64_t(16)},
                                                        {"tanh", true}}));
  const auto image = g->forward({{"z", torch::randn({5, 8})}}).at("x");
  CHECK(image.sizes() == torch::IntArrayRef({5, 1, 28, 28}));
  CHECK(image.abs().max().item<double>() <= 1.0);
  auto d =
      make_module(type_of("nets/mlp-discriminator"),
                  setup_for("nets/mlp-discriminator", {{"features", int64_t(784)}, {"hidden", int64_t(16)}}));
  CHECK(d->forward({{"x", image}}).at("score").sizes() == torch::IntArrayRef({5}));
  CHECK_THROWS_WITH_AS(d->forward({{"x", torch::zeros({5, 2})}}), doctest::Contains("param features is 784"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_module(type_of("nets/mlp-generator"),
                                   setup_for("nets/mlp-generator", {{"shape", std::string("2,x")}})),
                       doctest::Contains("positive sizes separated by commas"), std::invalid_argument);
}

TEST_CASE("Mixtures.EvalScoresACheckpointAndRunsLogTheirMetrics") {
  const std::string graph = test::write_temp("ring.json", ring_graph(8).dump());
  const std::string run = test::temp_dir("ring-run");
  auto r = test::run_cli({"run", graph, "--out", run, "--threads", "1", "--device", "cpu"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // outputs.eval: a line with the metrics at steps 4 and 8, beside the loss lines.
  std::vector<int64_t> eval_steps;
  for (const auto& line : test::read_log(run))
    if (line.contains("eval")) {
      eval_steps.push_back(line.at("step").get<int64_t>());
      CHECK(line.at("eval").at("modes").at("modes").get<double>() >= 0);
    }
  CHECK(eval_steps == std::vector<int64_t>{4, 8});
  // The mixture is drawn, not prefetched: its rows still count as data for images/s.
  for (const auto& line : test::read_log(run))
    if (line.contains("images_per_s")) CHECK(line.at("images_per_s").get<double>() > 0);

  r = test::run_cli({"eval", graph, "--checkpoint", run, "--samples", "500", "--device", "cpu"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("modes.modes ") != std::string::npos);
  CHECK(r.out.find("modes.high_quality ") != std::string::npos);
  const std::string written = run + "/eval-step-00000008.json";
  REQUIRE(std::filesystem::exists(written));
  const json result = json::parse(test::read_file(written));
  CHECK(result.at("step") == 8);
  CHECK(result.at("samples") == 500);
  const double modes = result.at("metrics").at("modes").at("modes");
  CHECK((modes >= 0 && modes <= 8));
  // The same draw gives the same figures: evaluation does not depend on training's random state.
  const auto again = test::run_cli({"eval", graph, "--checkpoint", run, "--samples", "500", "--json", "-"});
  REQUIRE(again.exit_code == 0);
  CHECK(json::parse(again.out.substr(again.out.find('{'))).at("metrics") == result.at("metrics"));
  // A device is written in place, never replaced by a renamed file (here through a link to /dev/null).
  const std::string sink = run + "/sink";
  std::filesystem::create_symlink("/dev/null", sink);
  REQUIRE(test::run_cli({"eval", graph, "--checkpoint", run, "--samples", "100", "--json", sink}).exit_code ==
          0);
  CHECK(std::filesystem::is_symlink(sink));
  CHECK(std::filesystem::is_character_file("/dev/null"));
}

TEST_CASE("Mixtures.EvalFailuresAreClearUserErrors") {
  const std::string graph = test::write_temp("ring-errors.json", ring_graph(4).dump());
  const std::string empty_run = test::temp_dir("ring-empty");
  auto r = test::run_cli({"eval", graph, "--checkpoint", empty_run});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no checkpoint") != std::string::npos);
  r = test::run_cli({"eval", graph, "--checkpoint", empty_run + "/nothing.pt"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no such file or run directory") != std::string::npos);
  r = test::run_cli({"eval", graph, "--checkpoint", empty_run, "--metrics", "mode"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("did you mean \"modes\"") != std::string::npos);
  r = test::run_cli({"eval", graph, "--checkpoint", empty_run, "--metrics", "d_real"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not a function node") != std::string::npos);

  json no_metrics = ring_graph(4);
  no_metrics["nodes"].erase("modes");
  no_metrics["outputs"].erase("eval");
  r = test::run_cli(
      {"eval", test::write_temp("no-metrics.json", no_metrics.dump()), "--checkpoint", empty_run});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("has no metrics") != std::string::npos);

  json bad_eval = ring_graph(4);
  bad_eval["outputs"]["eval"]["metrics"] = json::array({"modez"});
  r = test::run_cli({"validate", test::write_temp("bad-eval.json", bad_eval.dump())});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/outputs/eval/metrics/0") != std::string::npos);
  CHECK(r.err.find("did you mean \"modes\"") != std::string::npos);
}

TEST_CASE("Graphs.EveryShippedGraphTrainsTwoIterations") {
  REQUIRE(test::mnist_available());
  // Graphs whose modules start from another shipped graph's run ("weights": "runs/NAME") come
  // last, and read the two-iteration run of NAME made here instead.
  // GANGLION_SKIP_GRAPHS (comma-separated stems) leaves graphs out on a machine that cannot run
  // them (no OpenCV on the GPU machine); each one left out is reported.
  std::string skip = std::getenv("GANGLION_SKIP_GRAPHS") ? std::getenv("GANGLION_SKIP_GRAPHS") : "";
  skip = "," + skip + ",";
  std::vector<std::filesystem::path> paths;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(GANGLION_SOURCE_DIR) + "/graphs")) {
    const auto path = entry.path();
    if (path.extension() != ".json" || path.filename() == "ganglion.schema.json") continue;
    if (skip.find("," + path.stem().string() + ",") != std::string::npos) {
      MESSAGE("left out by GANGLION_SKIP_GRAPHS: " << path.stem().string());
      continue;
    }
    paths.push_back(path);
  }
  const auto reads_weights = [](const std::filesystem::path& path) {
    const auto graph = test::shipped_graph(path.stem().string());  // kept alive for the loop
    for (const auto& [name, module] : graph.at("modules").items())
      if (module.contains("weights")) return true;
    return false;
  };
  std::stable_partition(paths.begin(), paths.end(), [&](const auto& p) { return !reads_weights(p); });
  std::map<std::string, std::string> runs;  // graph file stem -> its run here
  for (const auto& path : paths) {
    CAPTURE(path.string());
    const std::string run = test::temp_dir("shipped-" + path.stem().string());
    std::vector<std::string> args{"run", path.string(), "--out", run,        "--steps",
                                  "2",   "--threads",   "1",     "--device", "cpu"};
    const auto graph = test::shipped_graph(path.stem().string());
    for (const auto& [name, module] : graph.at("modules").items()) {
      if (!module.contains("weights")) continue;
      const std::string from = module.at("weights").is_string()
                                   ? module.at("weights").get<std::string>()
                                   : module.at("weights").at("from").get<std::string>();
      const std::string stem = std::filesystem::path(from).filename().string();
      REQUIRE_MESSAGE(runs.count(stem),
                      (std::string("module ") + name + " reads " + from + ", which no shipped graph makes"));
      args.insert(args.end(), {"--set", "modules." + name + ".weights=" + runs.at(stem)});
    }
    const auto r = test::run_cli(args);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    runs[path.stem().string()] = run;
    const auto log = test::read_log(run);
    REQUIRE(!log.empty());
    // The last iteration is logged with a finite loss for every phase.
    bool logged_losses = false;
    for (const auto& line : log)
      if (line.contains("losses") && line.at("step") == 2) {
        logged_losses = true;
        for (const auto& [phase, value] : line.at("losses").items())
          CHECK(std::isfinite(value.get<double>()));
      }
    CHECK(logged_losses);
  }
  CHECK(paths.size() >= (skip.size() > 2 ? 10u : 12u));
}
