// Modules that grow at a stage boundary a schedule gives (progressive GANs): the new parameters
// train, join their optimiser with fresh state and the EMA shadow, and a run stopped mid-growth
// resumes bit-exactly; graph schedules read through the run context; tensor node state and the
// node's own generator in checkpoints.
#include <doctest/doctest.h>

#include <torch/optim/adam.h>

#include <sstream>
#include <type_traits>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

const std::string kTestNodes = std::string(GANGLION_TEST_PLUGIN_DIR) + "/test-nodes";

/// The ring GAN with H, a growing residual MLP, refining G's points before D scores them: H grows
/// at iterations 3 and 5 and keeps an EMA; phase M minimises test/remember's loss.
json growing_ring() {
  auto g = test::shipped_graph("gan-ring8");
  g.erase("$schema");
  g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
  g["schedules"] = {{"stage", {{"points", {{1, 0}, {3, 1}, {5, 2}}}, {"interpolate", "step"}}},
                    {"scale", {{"points", {{1, 1.0}, {6, 0.5}}}}}};
  g["modules"]["H"] = {{"type", "test/growing-mlp"},
                       {"params", {{"scale", "scale"}}},
                       {"grow", "stage"},
                       {"ema", {{"beta", 0.5}}}};
  g["nodes"]["refined"] = {{"apply", "H"}, {"in", {{"x", "fake"}}}};
  g["nodes"]["d_fake"]["in"]["x"] = "refined";
  g["nodes"]["mem"] = {{"type", "test/remember"}, {"in", {{"x", "d_real"}}}};
  g["phases"][1]["update"] = {"G", "H"};
  g["phases"].push_back({{"name", "M"}, {"minimize", "mem"}, {"update", {"D"}}});
  return g;
}

/// Whether optimiser state key `key` is parameter `p`'s (a printed address in LibTorch 1.x, the
/// pointer in 2.x).
template <class Key>
bool state_of(const Key& key, const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return key == s.str();
  } else {
    return key == static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace

TEST_CASE("Schedules.PiecewiseLinearOrStepwiseByIterationsOrImages") {
  ScheduleSpec s;
  s.points = {{10, 0.0}, {20, 1.0}, {40, 3.0}};
  CHECK(s.at(1, 0) == 0.0);   // before the first point: its value
  CHECK(s.at(15, 0) == 0.5);  // linear between points
  CHECK(s.at(30, 0) == 2.0);
  CHECK(s.at(100, 0) == 3.0);  // after the last: its value
  s.stepwise = true;
  CHECK(s.at(19, 0) == 0.0);
  CHECK(s.at(20, 0) == 1.0);
  s.by_images = true;
  CHECK(s.at(1000, 25) == 1.0);  // x is the images seen
}

TEST_CASE("Schedules.MistakesAreNamed") {
  auto g = growing_ring();
  g["modules"]["H"]["grow"] = "stagee";
  const auto& r = test::builtin_registry();
  auto errors = [&](const json& doc) { return test::error_of([&] { build_graph(doc, "g.json", r); }); };
  CHECK(errors(g).find("g.json: /modules/H/grow: no schedule \"stagee\" (did you mean \"stage\"?)") !=
        std::string::npos);
  g = growing_ring();
  g["modules"]["H"]["params"]["scale"] = "scal";
  CHECK(errors(g).find("g.json: /modules/H/params/scale: no schedule \"scal\"") != std::string::npos);
  g = growing_ring();
  g["schedules"]["stage"]["points"] = {{1, 0}, {1, 1}};
  CHECK(errors(g).find("g.json: /schedules/stage/points/1: x must increase from point to point") !=
        std::string::npos);
  g = growing_ring();
  g["schedules"]["stage"]["by"] = "epochs";
  CHECK(errors(g).find("g.json: /schedules/stage/by: expected \"iterations\" or \"images\"") !=
        std::string::npos);
}

TEST_CASE("Growth.AModuleGrowsOnItsScheduleAndItsNewParametersTrain") {
  const Graph graph = build_graph(growing_ring(), "grow.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const int h = graph.find_module("H");
  std::vector<std::int64_t> stages;
  torch::Tensor grown_at_3;
  for (std::int64_t step = 1; step <= 6; ++step) {
    executor.run_iteration(step);
    stages.push_back(executor.module_stage(h));
    if (step == 3) grown_at_3 = executor.modules()[h]->named_parameters()["layer1.weight"].detach().clone();
  }
  CHECK(stages == std::vector<std::int64_t>{0, 0, 1, 1, 2, 2});
  const auto params = executor.modules()[h]->named_parameters();
  CHECK(params.size() == 6);  // three Linear layers
  // Trained after it joined: phase G stepped it at iterations 4 to 6.
  CHECK_FALSE(torch::equal(params["layer1.weight"], grown_at_3));
  // In phase G's optimiser, with Adam steps counted from when each layer joined.
  int g_phase = -1;
  for (size_t o = 0; o < graph.optimizers.size(); ++o)
    if (graph.optimizers[o].name == "G") g_phase = static_cast<int>(o);
  const auto& opt = executor.optimizer(g_phase);
  const auto& group = opt.param_groups().at(graph.optimizers[g_phase].group_of(h));
  CHECK(group.params().size() == 6);
  std::vector<std::int64_t> steps;
  for (const auto& p : group.params())
    for (const auto& [key, state] : opt.state())
      if (state_of(key, p)) steps.push_back(static_cast<const torch::optim::AdamParamState&>(*state).step());
  CHECK(steps == std::vector<std::int64_t>{6, 6, 4, 4, 2, 2});
  // The shadow grew too and averages every parameter, by name.
  const auto shadow = executor.ema_modules()[h]->named_parameters();
  REQUIRE(shadow.size() == 6);
  CHECK_FALSE(torch::equal(shadow["layer2.weight"], params["layer2.weight"]));  // averaged, not copied
}

TEST_CASE("Growth.ARunStoppedMidGrowthResumesBitExactly") {
  const std::string graph = test::write_temp("grow-resume.json", growing_ring().dump());
  const std::string whole = test::temp_dir("grow-whole"), split = test::temp_dir("grow-split");
  const auto run = [&](const std::string& out, int steps, bool resume) {
    std::vector<std::string> args{
        "run",       graph, "--out",         out,       "--steps", std::to_string(steps),
        "--threads", "1",   "--plugin-path", kTestNodes};
    if (resume) args.push_back("--resume");
    const auto r = test::run_cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  run(whole, 7, false);
  run(split, 4, false);  // stage 1: grown once, checkpointed before the second growth
  run(split, 7, true);
  const auto a = test::read_log(whole), b = test::read_log(split);
  REQUIRE(a.size() == 7);
  REQUIRE(b.size() == 7);
  for (size_t i = 4; i < 7; ++i) {
    CAPTURE(i + 1);
    CHECK(a[i]["losses"] == b[i]["losses"]);  // D, G, and M (the tensor state and own generator)
  }
}
