// EMA shadows by StyleGAN2's half-life in images, with its ramp-up, and the images-seen count
// they read, which checkpoints carry.
#include <doctest/doctest.h>

#include <torch/serialize.h>

#include <cmath>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

TEST_CASE("Ema.HalfLifeInImagesGivesStyleGan2sBeta") {
  EmaSpec spec;
  spec.enabled = true;
  spec.half_life_images = 10000;
  CHECK(spec.beta_at(1, 64, 64) == doctest::Approx(std::pow(0.5, 64.0 / 10000)));
  // Ramp-up: the half-life is at most 5% of the images seen (StyleGAN2-ADA's ema_rampup 0.05).
  spec.rampup_ratio = 0.05;
  CHECK(spec.beta_at(1, 64, 64) == doctest::Approx(std::pow(0.5, 64.0 / 3.2)));
  CHECK(spec.beta_at(5000, 64, 64 * 5000) == doctest::Approx(std::pow(0.5, 64.0 / 10000)));
  // The step form is unchanged.
  EmaSpec steps;
  steps.beta = 0.999;
  steps.rampup = 10;
  CHECK(steps.beta_at(1, 64, 64) == doctest::Approx(2.0 / 12.0));
}

TEST_CASE("Ema.AShadowByHalfLifeFollowsTheModuleAndImagesSeenAreCheckpointed") {
  REQUIRE(test::mnist_available());
  auto document = test::small_dcgan_graph(128, 16);
  document["modules"]["G"]["ema"] = {{"half_life_images", 16}};  // one batch: beta 0.5
  const Graph graph = build_graph(document, "half-life.json", test::builtin_registry());
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::kCPU);
  const int g = graph.find_module("G");
  std::vector<torch::Tensor> before;
  for (auto& p : executor.modules()[g]->parameters()) before.push_back(p.detach().clone());
  executor.run_iteration(1);
  CHECK(executor.images_seen() == 16);
  const auto trained = executor.modules()[g]->parameters();
  const auto shadow = executor.ema_modules()[g]->parameters();
  for (size_t i = 0; i < shadow.size(); ++i)
    CHECK(torch::allclose(shadow[i], before[i] * 0.5 + trained[i].detach() * 0.5, 1e-5, 1e-6));

  torch::serialize::OutputArchive out;
  executor.save(out);
  const std::string file = test::temp_dir("half-life") + "/c.pt";
  out.save_to(file);
  Executor resumed(graph, plan, torch::kCPU);
  torch::serialize::InputArchive in;
  in.load_from(file);
  resumed.load(in, file);
  CHECK(resumed.images_seen() == 16);
}

TEST_CASE("Ema.TheTwoFormsDoNotMix") {
  REQUIRE(test::mnist_available());
  auto document = test::small_dcgan_graph(128, 16);
  document["modules"]["G"]["ema"] = {{"half_life_images", 16}, {"beta", 0.9}};
  const std::string error =
      test::error_of([&] { build_graph(document, "mix.json", test::builtin_registry()); });
  CHECK_MESSAGE(error.find("mix.json: /modules/G/ema: give either \"beta\"") != std::string::npos, error);
}
