// augment/ada-probability: ADA's p rises while D's real scores are mostly positive (r_t above the
// target) and falls otherwise, by the images measured over adjust_images, once per iteration
// whatever number of phases read it, not while sampling, within [0, 1]; its state continues it
// exactly. DiffAugment takes p as an input. In a graph, p follows D's scores of the previous
// iteration, reaches the log, and a resumed run repeats the uninterrupted one.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "test_support.h"

using namespace ganglion;

namespace {

std::string ada(const std::string& params) {
  return R"({"type": "augment/ada-probability", "params": {)" + params + "}}";
}

/// p after feeding `score` at `step`.
double p_at(NodeRunner& node, std::int64_t step, const torch::Tensor& score) {
  return node.step(step).input("real_score", score).run().at("probability").item<double>();
}

}  // namespace

TEST_CASE("AdaProbability.RisesWhileDIsSureOfTheRealsAndFallsOtherwise") {
  NodeRunner node(ada(R"("interval": 2, "adjust_images": 100, "target": 0.6)"));
  const auto sure = torch::full({10}, 3.0), unsure = torch::cat({torch::ones({5}), -torch::ones({5})});
  CHECK(p_at(node, 1, sure) == 0.0);                   // one of two iterations measured
  CHECK(p_at(node, 1, sure) == 0.0);                   // the same iteration again counts once
  CHECK(p_at(node, 2, sure) == doctest::Approx(0.2));  // r_t = 1 > 0.6: up by 20 images / 100
  CHECK(node.run().at("overfitting").item<double>() == doctest::Approx(1.0));
  CHECK(p_at(node, 3, unsure) == doctest::Approx(0.2));
  CHECK(p_at(node, 4, unsure) == doctest::Approx(0.0));  // r_t = 0 < 0.6: down
  CHECK(p_at(node, 5, unsure) == doctest::Approx(0.0));
  CHECK(p_at(node, 6, unsure) == 0.0);  // never below 0
  node.sampling(true);
  CHECK(p_at(node, 7, sure) == 0.0);  // sampling measures nothing
  CHECK(p_at(node, 8, sure) == 0.0);
}

TEST_CASE("AdaProbability.StaysWithinOneAndAtItsStartWithoutScores") {
  NodeRunner fast(ada(R"("interval": 1, "adjust_images": 4)"));
  for (int step = 1; step <= 3; ++step) p_at(fast, step, torch::ones({8}));
  CHECK(fast.run().at("probability").item<double>() == 1.0);
  NodeRunner idle(ada(R"("initial": 0.25)"));
  for (int step = 1; step <= 8; ++step) CHECK(idle.step(step).run().at("probability").item<double>() == 0.25);
}

TEST_CASE("AdaProbability.ItsStateContinuesItExactly") {
  NodeRunner a(ada(R"("interval": 3, "adjust_images": 37)")), b(ada(R"("interval": 3, "adjust_images": 37)"));
  torch::manual_seed(3);
  std::vector<torch::Tensor> scores;
  for (int i = 0; i < 10; ++i) scores.push_back(torch::randn({7}) + 0.5);
  for (int i = 0; i < 5; ++i) p_at(a, i + 1, scores[i]);
  b.input("real_score", scores[5]).function().restore(a.function().state());  // made with its input
  for (int i = 5; i < 10; ++i) CHECK(p_at(a, i + 1, scores[i]) == p_at(b, i + 1, scores[i]));
  CHECK(a.function().state() == b.function().state());
  CHECK(test::error_of([&] { b.function().restore("0.5 oops"); }).find("unreadable ADA state") !=
        std::string::npos);
}

TEST_CASE("AdaProbability.DiffAugmentTakesTheProbabilityAsAnInput") {
  NodeRunner aug(R"({"type": "augment/diffaugment", "params": {"policy": "translation,cutout"}})");
  const auto x = torch::rand({16, 3, 8, 8}) + 1;
  CHECK(torch::equal(aug.input("image", x).input("probability", torch::tensor(0.0f)).run().at("image"), x));
  const auto all = aug.input("probability", torch::tensor(1.0f)).run().at("image");
  for (int64_t b = 0; b < 16; ++b) CHECK_FALSE(torch::equal(all[b], x[b]));  // a cutout in every image
}

TEST_CASE("AdaProbability.InAGraphPFollowsDsScoresIsLoggedAndResumesBitExactly") {
  // p moves by 8/16 an iteration, so it changes within the few iterations of the test.
  const auto g = test::with_ada(test::small_stylegan2("stylegan2-lfw-32"), 16);
  auto doc = g;
  doc["outputs"]["checkpoint"] = {{"every", 3}};
  doc["outputs"]["log"]["every"] = 1;
  const std::string graph = test::write_temp("ada.json", doc.dump());
  const auto run = [&](const std::string& out, int steps, bool resume) {
    std::vector<std::string> args{"run",       graph, "--out",    out,  "--steps", std::to_string(steps),
                                  "--threads", "1",   "--device", "cpu"};
    if (resume) args.push_back("--resume");
    const auto r = test::run_cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  const std::string whole = test::temp_dir("ada-whole"), parts = test::temp_dir("ada-parts");
  run(whole, 6, false);
  run(parts, 3, false);
  run(parts, 6, true);
  const auto log = test::read_log(whole), resumed = test::read_log(parts);
  REQUIRE(log.size() == 6);
  REQUIRE(resumed.size() == 6);
  // p follows the r_t measured from the previous iteration's 8 real scores: up by 8/16 above the
  // target 0.6, down below it, within [0, 1]; the first iteration has no scores yet.
  double p = 0.0;
  bool measured = false;
  for (size_t i = 0; i < log.size(); ++i) {
    CAPTURE(i);
    const double r_t = log[i]["values"]["ada.overfitting"].get<double>();
    if (i > 0) p = std::min(1.0, std::max(0.0, p + (r_t > 0.6 ? 0.5 : (r_t < 0.6 ? -0.5 : 0.0))));
    CHECK(log[i]["values"]["ada.probability"].get<double>() == doctest::Approx(p));
    CHECK(r_t * 8 == doctest::Approx(std::round(r_t * 8)));
    measured |= r_t != 0.0;
    CHECK(log[i]["values"] == resumed[i]["values"]);
    CHECK(log[i]["losses"] == resumed[i]["losses"]);
  }
  CHECK(log[0]["values"]["ada.overfitting"].get<double>() == 0.0);
  CHECK(measured);
}
