// What conditional GANs and their metrics need from the engine: a module that starts from another
// run's weights (a trained classifier), evaluation draws that walk through the data set, and
// `ganglion sample` asking for given classes.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>

#include "ganglion/engine/checkpoint.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "test_support.h"

using namespace ganglion;
using nlohmann::json;

namespace {

/// A tiny class-conditional DCGAN on 64 MNIST images, with a classifier module for metrics.
json small_conditional_graph() {
  return json::parse(R"({
    "ganglion": 1, "name": "small-cgan", "seed": 3, "steps": 2,
    "modules": {
      "G": {"type": "nets/dcgan-generator", "params": {"z_dim": 8, "width": 4, "classes": 10}},
      "D": {"type": "nets/dcgan-discriminator", "params": {"width": 4, "sigmoid": false, "classes": 10}},
      "C": {"type": "nets/cnn-classifier", "params": {"width": 4, "blocks": 2}}
    },
    "nodes": {
      "batch": {"type": "data/idx", "params": {"images": "${data}/mnist/train-images-idx3-ubyte",
        "labels": "${data}/mnist/train-labels-idx1-ubyte", "batch": 16, "limit": 64}},
      "z": {"type": "noise/normal", "params": {"dim": 8}, "in": {"like": "batch.image"}},
      "y": {"type": "noise/categorical", "params": {"classes": 10}, "in": {"like": "batch.image"}},
      "fake": {"apply": "G", "in": {"z": "z", "label": "y"}},
      "d_real": {"apply": "D", "in": {"image": "batch.image", "label": "batch.label"}},
      "d_fake": {"apply": "D", "in": {"image": "fake", "label": "y"}},
      "d_loss": {"type": "losses/bce-discriminator", "params": {"logits": true}, "in": {"real": "d_real", "fake": "d_fake"}},
      "g_loss": {"type": "losses/bce-generator", "params": {"logits": true}, "in": {"fake": "d_fake"}},
      "c_fake": {"apply": "C", "in": {"image": "fake"}},
      "accuracy": {"type": "metrics/class-accuracy", "in": {"logits": "c_fake.logits", "label": "y"}}
    },
    "phases": [
      {"name": "D", "minimize": "d_loss", "update": ["D"], "optimizer": {"type": "adam", "lr": 0.0002}},
      {"name": "G", "minimize": "g_loss", "update": ["G"], "optimizer": {"type": "adam", "lr": 0.0002}}
    ],
    "outputs": {"samples": {"from": "fake", "every": 1000}, "checkpoint": {"every": 1}, "log": {"every": 1}}
  })");
}

std::string user_error(const json& document) {
  try {
    const Graph graph = build_graph(document, "weights.json", test::builtin_registry());
    const Plan plan = make_plan(graph);
    Executor executor(graph, plan, torch::kCPU);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Weights.ModuleStartsFromAnotherRunsCheckpoint") {
  REQUIRE(test::mnist_available());
  const std::string run = test::temp_dir("weights-source");
  const std::string file = test::write_temp("weights-source.json", small_conditional_graph().dump());
  REQUIRE(test::run_cli({"run", file, "--out", run, "--steps", "1", "--threads", "1", "--device", "cpu"})
              .exit_code == 0);
  const auto latest = latest_checkpoint(run);
  REQUIRE(latest);
  // What the run trained, read back as that run would resume.
  const Graph source_graph = build_graph(small_conditional_graph(), "source.json", test::builtin_registry());
  const Plan source_plan = make_plan(source_graph);
  Executor source(source_graph, source_plan, torch::kCPU);
  read_checkpoint(latest->path, source);
  const auto trained_d = source.modules()[source_graph.find_module("D")]->named_parameters();

  // A second graph whose module "critic" starts from module D of that run (another name, so the
  // module field is needed), and one whose G comes from the run directory.
  auto document = small_conditional_graph();
  document["modules"]["critic"] = document["modules"]["D"];
  document["modules"]["critic"]["weights"] = {{"from", latest->path}, {"module", "D"}};
  document["modules"]["G"]["weights"] = run;
  const Graph graph = build_graph(document, "weights.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const auto critic = executor.modules()[graph.find_module("critic")]->named_parameters();
  const auto fresh_d = executor.modules()[graph.find_module("D")]->named_parameters();
  bool differs_from_fresh = false;
  for (const auto& p : trained_d) {
    CHECK(torch::equal(critic[p.key()], p.value()));
    differs_from_fresh |= !torch::equal(fresh_d[p.key()], p.value());
  }
  CHECK(differs_from_fresh);  // else the test could not tell loading from initialising
  const auto trained_g = source.modules()[source_graph.find_module("G")]->named_parameters();
  for (const auto& p : executor.modules()[graph.find_module("G")]->named_parameters())
    CHECK(torch::equal(p.value(), trained_g[p.key()]));
}

TEST_CASE("Weights.ErrorsNameTheFileAndTheFix") {
  REQUIRE(test::mnist_available());
  auto missing = small_conditional_graph();
  missing["modules"]["C"]["weights"] = "runs/no-such-run";
  CHECK(user_error(missing).find("train that run first") != std::string::npos);
  CHECK(user_error(missing).find("/modules/C/weights") != std::string::npos);

  const std::string empty_run = test::temp_dir("weights-empty");
  auto empty = small_conditional_graph();
  empty["modules"]["C"]["weights"] = empty_run;
  CHECK(user_error(empty).find("has no checkpoints yet") != std::string::npos);

  const std::string run = test::temp_dir("weights-mismatch");
  const std::string file = test::write_temp("weights-mismatch.json", small_conditional_graph().dump());
  REQUIRE(test::run_cli({"run", file, "--out", run, "--steps", "1", "--threads", "1", "--device", "cpu"})
              .exit_code == 0);
  auto no_module = small_conditional_graph();
  no_module["modules"]["C"]["weights"] = {{"from", run}, {"module", "Classifier"}};
  CHECK(user_error(no_module).find("has no module \"Classifier\"") != std::string::npos);
  auto wrong_shape = small_conditional_graph();
  wrong_shape["modules"]["C"]["params"]["width"] = 8;
  wrong_shape["modules"]["C"]["weights"] = run;
  CHECK(user_error(wrong_shape).find("does not fit module C") != std::string::npos);

  auto not_a_path = small_conditional_graph();
  not_a_path["modules"]["C"]["weights"] = 3;
  CHECK_THROWS_WITH_AS(build_graph(not_a_path, "w.json", test::builtin_registry()),
                       doctest::Contains("/modules/C/weights: expected a run directory"), UserError);
}

TEST_CASE("Evaluation.DrawsWalkThroughTheDataSet") {
  REQUIRE(test::mnist_available());
  const Graph graph = build_graph(small_conditional_graph(), "draws.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const PortRef image{graph.find_node("batch"), "image"}, label{graph.find_node("batch"), "label"};
  const PortRef y{graph.find_node("y"), "label"}, fake{graph.find_node("fake"), "image"};
  const auto drawn = executor.draw(std::vector<PortRef>{image, label, y, fake}, 48);
  for (const auto& t : drawn) CHECK(t.size(0) == 48);
  // Three batches of 16 of the 64 images: no batch repeats the first (grids reuse only that one).
  CHECK(!torch::equal(drawn[0].narrow(0, 0, 16), drawn[0].narrow(0, 16, 16)));
  CHECK(!torch::equal(drawn[0].narrow(0, 16, 16), drawn[0].narrow(0, 32, 16)));
  // The same draw again gives the same rows (metrics are comparable between evaluations), and a
  // joint draw's rows belong together: the generator's output for row i used row i's class.
  const auto again = executor.draw(std::vector<PortRef>{y, fake}, 48);
  CHECK(torch::equal(again[0], drawn[2]));
  CHECK(torch::allclose(again[1], drawn[3]));
  // Training's data position is untouched by drawing.
  CHECK(executor.node_states().at("batch") == "0 0");
}

TEST_CASE("Cli.SampleAsksForClasses") {
  REQUIRE(test::mnist_available());
  const std::string run = test::temp_dir("sample-classes");
  const std::string file = test::write_temp("sample-classes.json", small_conditional_graph().dump());
  REQUIRE(test::run_cli({"run", file, "--out", run, "--steps", "1", "--threads", "1", "--device", "cpu"})
              .exit_code == 0);
  const std::string out = run + "/threes.png";
  const auto r = test::run_cli({"sample", file, "--checkpoint", run, "--classes", "3", "--count", "20",
                                "--out", out, "--device", "cpu"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("wrote " + out + ": 20 rows of fake") != std::string::npos);
  CHECK(std::filesystem::file_size(out) > 100);
  // Default output: beside the run's checkpoints.
  const auto d = test::run_cli({"sample", file, "--checkpoint", run, "--device", "cpu"});
  CHECK_MESSAGE(d.exit_code == 0, d.err);
  CHECK(std::filesystem::exists(run + "/sample-step-00000001.png"));

  const auto bad_class = test::run_cli({"sample", file, "--checkpoint", run, "--classes", "12"});
  CHECK(bad_class.exit_code == 2);
  CHECK(bad_class.err.find("not a class in 0..9") != std::string::npos);
  const auto bad_from = test::run_cli({"sample", file, "--checkpoint", run, "--from", "fak"});
  CHECK(bad_from.exit_code == 2);
  CHECK(bad_from.err.find("did you mean") != std::string::npos);
  auto plain = test::small_dcgan_graph(64, 16);
  const std::string plain_file = test::write_temp("sample-plain.json", plain.dump());
  const auto no_pick = test::run_cli({"sample", plain_file, "--checkpoint", run, "--classes", "3"});
  CHECK(no_pick.exit_code == 2);
  CHECK(no_pick.err.find("no node of this graph is a class-label source whose classes can be chosen") !=
        std::string::npos);
  const auto no_run = test::run_cli({"sample", file, "--checkpoint", run + "/none"});
  CHECK(no_run.exit_code == 2);
  CHECK(no_run.err.find("no such file or run directory") != std::string::npos);
}
