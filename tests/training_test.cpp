// Training on real MNIST: the losses move, seeds reproduce, frozen modules stay untouched, and a
// run stopped (by --steps or SIGTERM) and resumed matches an uninterrupted one.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

std::vector<std::string> run_args(const std::string& graph, const std::string& out, int steps) {
  return {"run", graph, "--out", out, "--steps", std::to_string(steps), "--threads", "1", "--device", "cpu"};
}

/// The checkpoint file a run writes at iteration `step`.
std::string checkpoint_at(const std::string& run_dir, int step) {
  const std::string n = std::to_string(step);
  return run_dir + "/checkpoints/step-" + std::string(8 - n.size(), '0') + n + ".pt";
}

std::vector<json> losses(const std::string& run_dir) {
  std::vector<json> out;
  for (const auto& line : test::read_log(run_dir)) out.push_back(line.at("losses"));
  return out;
}

}  // namespace

TEST_CASE("Training.DcganLossesMoveOnRealMnist") {
  REQUIRE_MESSAGE(test::mnist_available(), "run scripts/fetch-data.sh first");
  const std::string graph = test::write_temp("move.json", test::small_dcgan_graph(512, 64).dump());
  const std::string out = test::temp_dir("move");
  const auto r = test::run_cli(run_args(graph, out, 30));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto log = losses(out);
  REQUIRE(log.size() == 30);
  const double d0 = log.front()["D"], d1 = log.back()["D"];
  const double g0 = log.front()["G"], g1 = log.back()["G"];
  CHECK_MESSAGE(std::abs(d1 - d0) > 0.1, "D: " << d0 << " -> " << d1);
  CHECK_MESSAGE(std::abs(g1 - g0) > 0.1, "G: " << g0 << " -> " << g1);
  // The discriminator learns to tell real from fake first: its loss falls.
  CHECK(d1 < d0);
  CHECK(std::filesystem::exists(out + "/graph.json"));
  CHECK(std::filesystem::exists(out + "/samples/step-00000030.png"));
  CHECK(std::filesystem::exists(out + "/checkpoints/step-00000030.pt"));
}

TEST_CASE("Training.SameSeedSameLossesOtherSeedOtherLosses") {
  REQUIRE(test::mnist_available());
  auto g = test::small_dcgan_graph(256, 32);
  const std::string a = test::write_temp("seed-a.json", g.dump());
  g["seed"] = 7;
  const std::string b = test::write_temp("seed-b.json", g.dump());
  const std::string out1 = test::temp_dir("seed1"), out2 = test::temp_dir("seed2"),
                    out3 = test::temp_dir("seed3");
  REQUIRE(test::run_cli(run_args(a, out1, 5)).exit_code == 0);
  REQUIRE(test::run_cli(run_args(a, out2, 5)).exit_code == 0);
  REQUIRE(test::run_cli(run_args(b, out3, 5)).exit_code == 0);
  CHECK(losses(out1) == losses(out2));
  CHECK(losses(out1) != losses(out3));
}

TEST_CASE("Training.ResumeContinuesExactly") {
  REQUIRE(test::mnist_available());
  // 96 images in batches of 32: the resumed part crosses an epoch boundary (reshuffle).
  const std::string graph = test::write_temp("resume.json", test::small_dcgan_graph(96, 32).dump());
  const std::string whole = test::temp_dir("whole"), parts = test::temp_dir("parts");
  REQUIRE(test::run_cli(run_args(graph, whole, 8)).exit_code == 0);
  REQUIRE(test::run_cli(run_args(graph, parts, 4)).exit_code == 0);
  auto args = run_args(graph, parts, 8);
  args.push_back("--resume");
  const auto r = test::run_cli(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("resuming") != std::string::npos);
  const auto a = losses(whole), b = losses(parts);
  REQUIRE(a.size() == 8);
  REQUIRE(b.size() == 8);
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i] == b[i]);
  }
}

TEST_CASE("Training.SigtermCheckpointsAndResumes") {
  REQUIRE(test::mnist_available());
  const std::string graph = test::write_temp("sigterm.json", test::small_dcgan_graph(256, 32).dump());
  const std::string run = test::temp_dir("sigterm"), whole = test::temp_dir("sigterm-whole");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string err = run + "/stderr.txt";
    freopen(err.c_str(), "w", stderr);
    freopen("/dev/null", "w", stdout);
    execl(GANGLION_CLI, GANGLION_CLI, "run", graph.c_str(), "--out", run.c_str(), "--steps", "100000",
          "--threads", "1", "--device", "cpu", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for a few logged steps, then ask it to stop as a farm scheduler would.
  for (int i = 0; i < 600 && test::read_log(run).size() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto stopped = losses(run);
  const int k = static_cast<int>(stopped.size());
  REQUIRE(k >= 3);
  REQUIRE(std::filesystem::exists(checkpoint_at(run, k)));
  auto args = run_args(graph, run, k + 3);
  args.push_back("--resume");
  REQUIRE(test::run_cli(args).exit_code == 0);
  REQUIRE(test::run_cli(run_args(graph, whole, k + 3)).exit_code == 0);
  CHECK(losses(run) == losses(whole));
}

TEST_CASE("Training.TimeLimitCheckpointsAndResumes") {
  REQUIRE(test::mnist_available());
  const std::string graph = test::write_temp("time-limit.json", test::small_dcgan_graph(256, 32).dump());
  const std::string run = test::temp_dir("time-limit"), whole = test::temp_dir("time-limit-whole");
  auto args = run_args(graph, run, 100000);
  args.insert(args.end(), {"--time-limit", "1.5s"});
  const auto r = test::run_cli(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK_MESSAGE(r.err.find("stopped at the time limit of 1.5 s after step") != std::string::npos, r.err);
  const int k = static_cast<int>(losses(run).size());
  REQUIRE(k >= 1);
  REQUIRE(k < 100000);
  CHECK(std::filesystem::exists(checkpoint_at(run, k)));
  auto resume = run_args(graph, run, k + 2);
  resume.push_back("--resume");
  REQUIRE(test::run_cli(resume).exit_code == 0);
  REQUIRE(test::run_cli(run_args(graph, whole, k + 2)).exit_code == 0);
  CHECK(losses(run) == losses(whole));
}

TEST_CASE("Training.TimeLimitRefusesWhatIsNotADuration") {
  const std::string graph = test::write_temp("time-limit-bad.json", test::small_dcgan_graph(64, 32).dump());
  for (const std::string bad : {"soon", "15x", "-5m", "0", "1h30", "nan", "m"}) {
    CAPTURE(bad);
    auto args = run_args(graph, test::temp_dir("time-limit-bad"), 1);
    args.insert(args.end(), {"--time-limit", bad});
    const auto r = test::run_cli(args);
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find("--time-limit " + bad +
                             ": expected a duration such as 900, 90s, 15m or 1h30m") != std::string::npos,
                  r.err);
  }
}

TEST_CASE("Training.FrozenModulesGetNoGradientAndDoNotChange") {
  REQUIRE(test::mnist_available());
  auto document = test::small_dcgan_graph(128, 32);
  document["phases"].erase(1);  // only phase D: G is frozen throughout
  const Graph graph = build_graph(document, "frozen.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const int g = graph.find_module("G"), d = graph.find_module("D");
  std::vector<torch::Tensor> g_before, d_before;
  for (auto& p : executor.modules()[g]->parameters()) g_before.push_back(p.detach().clone());
  for (auto& p : executor.modules()[d]->parameters()) d_before.push_back(p.detach().clone());
  executor.run_iteration(1);
  auto g_after = executor.modules()[g]->parameters();
  auto d_after = executor.modules()[d]->parameters();
  for (size_t i = 0; i < g_after.size(); ++i) {
    CHECK_FALSE(g_after[i].grad().defined());
    CHECK(torch::equal(g_after[i], g_before[i]));
  }
  bool d_changed = false;
  for (size_t i = 0; i < d_after.size(); ++i) d_changed |= !torch::equal(d_after[i], d_before[i]);
  CHECK(d_changed);
  CHECK(d_after[0].grad().defined());
}

TEST_CASE("Training.EveryRepeatAndFromDecideWhichPhasesRun") {
  REQUIRE(test::mnist_available());
  auto document = test::small_dcgan_graph(128, 32);
  document["phases"][0]["repeat"] = 2;
  document["phases"][1]["every"] = 2;
  document["phases"][1]["from"] = 2;
  const Graph graph = build_graph(document, "every.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  for (std::int64_t step = 1; step <= 4; ++step) {
    const auto record = executor.run_iteration(step);
    CAPTURE(step);
    CHECK(record.loss_values.count("D") == 1);
    CHECK(record.loss_values.count("G") == (step % 2 == 0 ? 1u : 0u));
    // A repeated phase draws its per-iteration batch once: one batch per iteration.
    CHECK(record.samples == 32);
  }
  CHECK(executor.module_version(graph.find_module("D")) == 8);  // 4 iterations x 2 repetitions
  CHECK(executor.module_version(graph.find_module("G")) == 2);  // iterations 2 and 4
}

TEST_CASE("Training.EmaShadowFollowsTheModule") {
  REQUIRE(test::mnist_available());
  auto document = test::small_dcgan_graph(128, 32);
  document["modules"]["G"]["ema"] = {{"beta", 0.75}};
  const Graph graph = build_graph(document, "ema.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const int g = graph.find_module("G");
  REQUIRE(executor.ema_modules()[g] != nullptr);
  std::vector<torch::Tensor> before;
  for (auto& p : executor.modules()[g]->parameters()) before.push_back(p.detach().clone());
  executor.run_iteration(1);
  const auto trained = executor.modules()[g]->parameters();
  const auto shadow = executor.ema_modules()[g]->parameters();
  REQUIRE(shadow.size() == before.size());
  bool moved = false;
  for (size_t i = 0; i < shadow.size(); ++i) {
    // shadow = 0.75 * old + 0.25 * new, starting from a copy of the initial weights.
    CHECK(torch::allclose(shadow[i], before[i] * 0.75 + trained[i].detach() * 0.25, 1e-5, 1e-6));
    moved |= !torch::equal(trained[i], before[i]);
  }
  CHECK(moved);
  CHECK(executor.ema_modules()[graph.find_module("D")] == nullptr);
}

TEST_CASE("Training.StatefulFunctionsAreCheckpointed") {
  REQUIRE(test::mnist_available());
  auto document = test::small_dcgan_graph(128, 32);
  document["nodes"]["count"] = {{"type", "test/counter"}, {"in", {{"x", "d_real"}}}};
  document["phases"].push_back({{"name", "C"}, {"minimize", "count"}, {"update", {"D"}}});
  const Graph graph = build_graph(document, "counter.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor first(graph, plan, torch::kCPU);
  for (std::int64_t step = 1; step <= 3; ++step) first.run_iteration(step);
  const auto states = first.node_states();
  REQUIRE(states.count("count") == 1);
  CHECK(states.at("count") == "3");
  CHECK(states.count("batch") == 1);  // the data position too
  Executor second(graph, plan, torch::kCPU);
  second.restore_node_states(states);
  const auto record = second.run_iteration(4);
  CHECK(record.losses().at("C") == doctest::Approx(4.0));
}
