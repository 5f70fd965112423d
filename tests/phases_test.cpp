// Phases beyond one optimiser each: named optimisers shared by phases (one state, checkpointed
// once), the lazy-regularisation adjustment, plans for iterations where a phase is skipped, every
// phase's latest loss in the log, and the warnings for graphs that train the wrong thing.
#include <doctest/doctest.h>

#include <torch/optim/adam.h>
#include <torch/serialize.h>

#include <cmath>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// The small DCGAN with a second D phase, "Dreg", every 2 iterations on the same loss.
json two_d_phases(bool shared, bool lazy = false) {
  auto g = test::small_dcgan_graph(256, 16);
  json reg = g["phases"][0];
  reg["name"] = "Dreg";
  reg["every"] = 2;
  if (lazy) reg["lazy"] = true;
  if (shared) {
    g["optimizers"] = {{"opt", g["phases"][0]["optimizer"]}};
    g["phases"][0]["optimizer"] = "opt";
    reg["optimizer"] = "opt";
  }
  g["phases"].insert(g["phases"].begin() + 1, reg);
  return g;
}

/// Adam's step count of every parameter the optimiser holds state for.
std::vector<std::int64_t> adam_steps(const torch::optim::Optimizer& optimizer) {
  std::vector<std::int64_t> out;
  for (const auto& entry : optimizer.state())
    out.push_back(static_cast<const torch::optim::AdamParamState&>(*entry.second).step());
  return out;
}

int optimizer_named(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.optimizers.size(); ++i)
    if (g.optimizers[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string errors_of(const json& document) {
  return test::error_of([&] { build_graph(document, "g.json", test::builtin_registry()); });
}

std::string warnings_of(const json& document) {
  std::string out;
  for (const auto& w : build_graph(document, "g.json", test::builtin_registry()).warnings)
    out += w.format() + "\n";
  return out;
}

}  // namespace

TEST_CASE("Phases.ANamedOptimizerIsOneStateForEveryPhaseThatStepsIt") {
  REQUIRE(test::mnist_available());
  for (const bool shared : {false, true}) {
    CAPTURE(shared);
    const Graph graph = build_graph(two_d_phases(shared), "shared.json", test::builtin_registry());
    const Plan plan = make_plan(graph);
    Executor executor(graph, plan, torch::kCPU);
    for (std::int64_t step = 1; step <= 4; ++step) executor.run_iteration(step);
    if (shared) {
      // D stepped 4 times in phase D and twice in Dreg, all through one Adam.
      REQUIRE(graph.optimizers.size() == 2);  // "opt" and phase G's own
      for (auto s : adam_steps(executor.optimizer(optimizer_named(graph, "opt")))) CHECK(s == 6);
    } else {
      for (auto s : adam_steps(executor.optimizer(optimizer_named(graph, "D")))) CHECK(s == 4);
      for (auto s : adam_steps(executor.optimizer(optimizer_named(graph, "Dreg")))) CHECK(s == 2);
    }
    // Checkpointed once, under its own name; a phase's own optimizer under the phase's.
    torch::serialize::OutputArchive archive;
    executor.save(archive);
    const std::string file = test::temp_dir("shared-ckpt") + "/c.pt";
    archive.save_to(file);
    torch::serialize::InputArchive in;
    in.load_from(file);
    torch::serialize::InputArchive sub;
    CHECK(in.try_read("optimizers/opt", sub) == shared);
    CHECK(in.try_read("optimizer/D", sub) == !shared);
    CHECK(in.try_read("optimizer/G", sub));
  }
}

TEST_CASE("Phases.ALazyPhaseAdjustsItsOptimizersLrAndBetas") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(two_d_phases(true, true), "lazy.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const auto& opt = executor.optimizer(optimizer_named(graph, "opt"));
  const auto& o = static_cast<const torch::optim::AdamOptions&>(opt.param_groups().at(0).options());
  // every 2: ratio 2/3 (StyleGAN2-ADA's mb_ratio).
  CHECK(o.lr() == doctest::Approx(0.0002 * 2.0 / 3.0).epsilon(1e-12));
  CHECK(std::get<0>(o.betas()) == doctest::Approx(std::pow(0.5, 2.0 / 3.0)).epsilon(1e-12));
  CHECK(std::get<1>(o.betas()) == doctest::Approx(std::pow(0.5, 2.0 / 3.0)).epsilon(1e-12));
  // Phase G's own optimizer is untouched.
  const auto& g = static_cast<const torch::optim::AdamOptions&>(
      executor.optimizer(optimizer_named(graph, "G")).param_groups().at(0).options());
  CHECK(g.lr() == doctest::Approx(0.0002).epsilon(1e-12));
  const std::string plan_text = describe_plan(graph, plan);
  CHECK_MESSAGE(plan_text.find("shares optimizer opt (its moments and step counts) with phase Dreg") !=
                    std::string::npos,
                plan_text);
  CHECK_MESSAGE(plan_text.find("lr is multiplied by 2/3") != std::string::npos, plan_text);
}

TEST_CASE("Phases.NamedOptimizerMistakesAreNamed") {
  REQUIRE(test::mnist_available());
  auto unknown = two_d_phases(true);
  unknown["phases"][0]["optimizer"] = "opx";
  CHECK(
      errors_of(unknown).find("g.json: /phases/0/optimizer: no optimizer \"opx\" (did you mean \"opt\"?)") !=
      std::string::npos);
  auto unused = two_d_phases(true);
  unused["optimizers"]["spare"] = {{"type", "adam"}};
  CHECK(errors_of(unused).find("g.json: /optimizers/spare: no phase uses optimizer \"spare\"") !=
        std::string::npos);
  auto not_lazy = test::small_dcgan_graph(256, 16);
  not_lazy["phases"][0]["lazy"] = true;
  CHECK(errors_of(not_lazy).find("g.json: /phases/0/lazy: a lazy phase runs every N iterations (N >= 2)") !=
        std::string::npos);
  auto per_module = two_d_phases(true);
  per_module["phases"][0]["update"] = {{{"module", "D"}, {"lr", 0.1}}};
  CHECK(errors_of(per_module).find("g.json: /phases/0/update/0: this phase steps the shared optimizer") !=
        std::string::npos);
  auto bad_type = two_d_phases(true);
  bad_type["optimizers"]["opt"]["type"] = "adamw";
  CHECK(errors_of(bad_type).find("g.json: /optimizers/opt/type: unknown optimizer \"adamw\"") !=
        std::string::npos);
}

TEST_CASE("Phases.ResumingANamedOptimizerContinuesExactly") {
  REQUIRE(test::mnist_available());
  const std::string graph = test::write_temp("shared-resume.json", two_d_phases(true, true).dump());
  const std::string whole = test::temp_dir("shared-whole"), split = test::temp_dir("shared-split");
  const auto args = [&](const std::string& out, int steps) {
    return std::vector<std::string>{"run",       graph, "--out", out, "--steps", std::to_string(steps),
                                    "--threads", "1"};
  };
  REQUIRE(test::run_cli(args(whole, 4)).exit_code == 0);
  REQUIRE(test::run_cli(args(split, 3)).exit_code == 0);
  auto resume = args(split, 4);
  resume.push_back("--resume");
  const auto r = test::run_cli(resume);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto a = test::read_log(whole), b = test::read_log(split);
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  CHECK(a[3]["losses"] == b[3]["losses"]);  // step 4, Dreg included, after a resume at step 3
}

TEST_CASE("Phases.AnIterationThatSkipsAPhaseIsPlannedOnItsOwn") {
  REQUIRE(test::mnist_available());
  // Phase X (every 2) trains G on a second draw of z. When it runs, G is updated between phases D
  // and G, so phase G recomputes fake; when it is skipped, phase G reuses D's fake.
  auto g = test::small_dcgan_graph(256, 16);
  g["nodes"]["z2"] = g["nodes"]["z"];
  g["nodes"]["fake2"] = {{"apply", "G"}, {"in", {{"z", "z2"}}}};
  g["nodes"]["d_fake2"] = {{"apply", "D"}, {"in", {{"image", "fake2"}}}};
  g["nodes"]["g_loss2"] = g["nodes"]["g_loss"];
  g["nodes"]["g_loss2"]["in"] = {{"fake", "d_fake2"}};
  json x = g["phases"][1];
  x["name"] = "X";
  x["minimize"] = "g_loss2";
  x["every"] = 2;
  g["phases"].insert(g["phases"].begin() + 1, x);
  const Graph graph = build_graph(g, "skip.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  const int fake = graph.find_node("fake");
  auto step_of = [&](const std::vector<PhasePlan>& phases, int phase) {
    for (const auto& pp : phases)
      if (pp.phase == phase)
        for (const auto& s : pp.nodes)
          if (s.node == fake) return s;
    FAIL("fake is not planned in phase " << phase);
    return PlannedNode{};
  };
  CHECK_FALSE(step_of(plan.phases, 2).reuse);  // every phase due: G updated by X since
  CHECK_FALSE(step_of(plan.phases, 0).kept);
  const auto skipped = plan_iteration(graph, plan, {1, 0, 1});
  REQUIRE(skipped.size() == 2);
  CHECK(step_of(skipped, 2).reuse);
  CHECK(step_of(skipped, 0).kept);
  CHECK(due_phases(graph, 2) == std::vector<char>{1, 0, 1});
  const std::string text = describe_plan(graph, plan);
  CHECK_MESSAGE(text.find("iterations where only D, G run (2)") != std::string::npos, text);
  CHECK_MESSAGE(text.find("phase G: reuse   fake") != std::string::npos, text);

  // The executor follows each iteration's own plan: G computes fake twice in iteration 1 (phases D
  // and G), once in iteration 2.
  Executor executor(graph, plan, torch::kCPU);
  int computed = 0;
  executor.set_value_observer([&](const std::string& node, const TensorMap&) { computed += node == "fake"; });
  executor.run_iteration(1);
  CHECK(computed == 2);
  computed = 0;
  executor.run_iteration(2);
  CHECK(computed == 1);
}

TEST_CASE("Phases.EveryLogLineHoldsEachPhasesLatestLossAndItsStep") {
  REQUIRE(test::mnist_available());
  auto g = two_d_phases(false);
  g["phases"][1]["every"] = 3;
  const std::string graph = test::write_temp("latest.json", g.dump());
  const std::string out = test::temp_dir("latest");
  const auto r = test::run_cli({"run", graph, "--out", out, "--steps", "4", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto log = test::read_log(out);
  REQUIRE(log.size() == 4);
  for (const auto& line : log) {
    CAPTURE(line.dump());
    const auto step = line["step"].get<std::int64_t>();
    CHECK(line["losses"].contains("Dreg"));  // runs at 1 and 4, logged at every step
    CHECK(line["computed_at"]["Dreg"] == (step < 4 ? 1 : 4));
    CHECK(line["computed_at"]["D"] == step);
  }
  CHECK(log[1]["losses"]["Dreg"] == log[0]["losses"]["Dreg"]);
}

TEST_CASE("Phases.WarningsForModulesNothingTrainsAndPhasesThatTrainBothSides") {
  REQUIRE(test::mnist_available());
  CHECK(warnings_of(test::dcgan_graph()) == "");
  CHECK(warnings_of(test::shipped_graph("dcgan-r1-ema-mnist")) == "");
  CHECK(warnings_of(test::shipped_graph("wgan-gp-mnist")) == "");
  auto idle = test::dcgan_graph();
  idle["modules"]["E"] = idle["modules"]["D"];
  CHECK(
      warnings_of(idle).find("g.json: /modules/E: warning: no phase updates module \"E\" and no \"weights\" "
                             "load it") != std::string::npos);
  auto both = test::dcgan_graph();
  both["phases"][1]["update"] = {"G", "D"};
  const std::string w = warnings_of(both);
  CHECK_MESSAGE(
      w.find("g.json: /phases/1/update: warning: phase \"G\" updates both \"G\" and \"D\", but phase "
             "\"D\" trains \"D\" against a frozen \"G\"") != std::string::npos,
      w);
  // The CLI prints them and still succeeds.
  const auto r = test::run_cli({"validate", test::write_temp("both.json", both.dump())});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("warning: phase \"G\" updates both") != std::string::npos);
}

TEST_CASE("Phases.EditNamesASharedOptimizerAndRefusesToSetItsFieldsOnAPhase") {
  REQUIRE(test::mnist_available());
  const std::string file = test::write_temp("edit-shared.json", two_d_phases(true).dump(2));
  auto r = test::run_cli({"edit", file, "set-phase", "Dreg", "lr=0.1"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(
      r.err.find("edit: the phase steps the shared optimizer \"opt\": its lr is set under /optimizers/opt") !=
          std::string::npos,
      r.err);
  r = test::run_cli({"edit", file, "set-phase", "Dreg", "optimizer=adam", "lr=0.1", "lazy=true", "every=4"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto g = json::parse(test::read_file(file));
  CHECK(g["phases"][1]["optimizer"] == json{{"type", "adam"}, {"lr", 0.1}});
  CHECK(g["phases"][1]["lazy"] == true);
  r = test::run_cli({"edit", file, "set-phase", "Dreg", "optimizer=opt"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  g = json::parse(test::read_file(file));
  CHECK(g["phases"][1]["optimizer"] == "opt");
  r = test::run_cli({"edit", file, "set-phase", "Dreg", "optimizer=opx"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no optimizer \"opx\" (did you mean \"opt\"?)") != std::string::npos);
}
