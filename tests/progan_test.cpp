// Progressive GAN: G and D grow a block per stage and fade it in by a schedule (alpha 0 is the
// net before it grew, exactly), the drift term, and the shipped graph trained through two
// growths on a slice of the emoji, stopped mid-fade and resumed bit-exactly.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>

#include "test_support.h"

using namespace ganglion;
using nlohmann::json;

namespace {

const char* kSmallG = R"({"type": "nets/progan-generator", "params": {"z_dim": 8, "resolution": 16,
    "channel_base": 64, "channel_max": 8, "fade": "alpha"}})";
const char* kSmallD = R"({"type": "nets/progan-discriminator", "params": {"resolution": 16,
    "channel_base": 64, "channel_max": 8, "fade": "alpha"}})";

}  // namespace

TEST_CASE("Progan.GeneratorGrowsABlockAndFadesItIn") {
  NodeRunner g(kSmallG);
  g.sampling(true).schedule("alpha", 1.0).input("z", torch::randn({4, 8}));
  const auto before = g.run().at("image");
  CHECK(before.sizes() == torch::IntArrayRef({4, 3, 16, 16}));
  // At 4x4, upsampled: every 4x4 block of pixels is one value.
  CHECK(torch::equal(before.slice(2, 0, 1).slice(3, 0, 1), before.slice(2, 3, 4).slice(3, 3, 4)));
  const size_t params = g.module().parameters().size();
  g.module().grow(1);
  CHECK(g.module().parameters().size() == params + 6);  // two convolutions and a toRGB
  CHECK(g.module().named_parameters().contains("blocks.0.conv0.weight"));
  g.schedule("alpha", 0.0);
  CHECK(torch::allclose(g.run().at("image"), before));  // alpha 0: the net before it grew
  g.schedule("alpha", 1.0);
  const auto grown = g.run().at("image");
  CHECK(!torch::allclose(grown, before));
  // At 8x8, upsampled: 2x2 blocks are one value, 4x4 ones no longer.
  CHECK(torch::equal(grown.slice(2, 0, 1).slice(3, 0, 1), grown.slice(2, 1, 2).slice(3, 1, 2)));
  CHECK(!torch::equal(grown.slice(2, 0, 1).slice(3, 0, 1), grown.slice(2, 2, 3).slice(3, 2, 3)));
  g.module().grow(2);
  CHECK_THROWS_WITH(g.module().grow(3), doctest::Contains("past the target resolution 16"));
}

TEST_CASE("Progan.DiscriminatorGrowsInFrontAndFadesItIn") {
  NodeRunner d(kSmallD);
  const auto image = torch::randn({8, 3, 16, 16});
  d.schedule("alpha", 1.0).input("image", image);
  const auto before = d.run().at("score");
  CHECK(before.sizes() == torch::IntArrayRef({8}));
  d.module().grow(1);
  d.schedule("alpha", 0.0);
  CHECK(torch::allclose(d.run().at("score"), before, 1e-5, 1e-6));
  d.schedule("alpha", 0.5);
  CHECK(!torch::allclose(d.run().at("score"), before));
  NodeRunner wrong(kSmallD);
  wrong.schedule("alpha", 1.0).input("image", torch::randn({8, 3, 32, 32}));
  CHECK_THROWS_WITH_AS(wrong.run(), doctest::Contains("params channels and resolution make 3x16x16"),
                       NodeRunnerError);
}

TEST_CASE("Progan.TheDriftTermPullsRealScoresTowardsZero") {
  NodeRunner plain(R"({"type": "losses/wasserstein-critic"})"),
      drift(R"({"type": "losses/wasserstein-critic", "params": {"drift": 0.5}})");
  const auto real = torch::tensor({2.0, -4.0}), fake = torch::tensor({1.0, 1.0});
  const double a = plain.input("real", real).input("fake", fake).run().at("loss").item<double>();
  const double b = drift.input("real", real).input("fake", fake).run().at("loss").item<double>();
  CHECK(a == doctest::Approx(1.0 - (-1.0)));
  CHECK(b == doctest::Approx(a + 0.5 * (4.0 + 16.0) / 2));
}

TEST_CASE("Progan.TheEmojiGraphGrowsTwiceAndResumesMidFadeBitExactly") {
  json g = test::shipped_graph("progan-emoji-64");
  g.erase("$schema");
  g["nodes"]["batch"]["params"]["limit"] = 64;
  g["nodes"]["batch"]["params"]["batch"] = 8;
  g["nodes"]["batch"]["params"]["size"] = 16;
  for (const char* m : {"G", "D"}) {
    g["modules"][m]["params"]["resolution"] = 16;
    g["modules"][m]["params"]["channel_base"] = 64;
    g["modules"][m]["params"]["channel_max"] = 8;
  }
  // 8 images an iteration: stage 1 from iteration 3, fading in over iterations 3 to 5; stage 2
  // from iteration 7.
  g["schedules"]["stage"]["points"] =
      json::array({json::array({0, 0}), json::array({16, 1}), json::array({48, 2})});
  g["schedules"]["alpha"]["points"] =
      json::parse("[[0, 1], [15, 1], [16, 0], [40, 1], [47, 1], [48, 0], [72, 1]]");
  g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
  const std::string graph = test::write_temp("progan.json", g.dump());
  const std::string whole = test::temp_dir("progan-whole"), split = test::temp_dir("progan-split");
  const auto run = [&](const std::string& out, int steps, bool resume) {
    std::vector<std::string> args{"run",       graph, "--out", out, "--steps", std::to_string(steps),
                                  "--threads", "1"};
    if (resume) args.push_back("--resume");
    const auto r = test::run_cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  run(whole, 9, false);
  run(split, 4, false);  // stopped at iteration 4: stage 1, alpha 0.67
  run(split, 9, true);
  const auto a = test::read_log(whole), b = test::read_log(split);
  REQUIRE(a.size() == 9);
  REQUIRE(b.size() == 9);
  for (size_t i = 4; i < 9; ++i) {
    CAPTURE(i + 1);
    CHECK(a[i]["losses"] == b[i]["losses"]);
  }
  for (const auto& line : a)
    for (const auto& [phase, loss] : line.at("losses").items()) CHECK(std::isfinite(loss.get<double>()));
}
