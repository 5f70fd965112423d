// The StyleGAN2 nodes through the node runner (their contracts held at every call), and the
// shipped graph trained for a few iterations on a slice of the emoji: the mapping/synthesis
// split, sampling that repeats per z, truncation towards w_avg, style mixing while training,
// path-length regularisation's state, and the discriminator's checks.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>

#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using nlohmann::json;

namespace {

const char* kSmallG =
    R"({"type": "nets/stylegan2-generator", "params": {"z_dim": 16, "w_dim": 8, "mapping_layers": 2,
        "resolution": 16, "channel_base": 128, "channel_max": 16 %s}})";

std::string small_generator(const std::string& extra = "") {
  std::string text(kSmallG);
  text.replace(text.find("%s"), 2, extra);
  return text;
}

using test::contains;

}  // namespace

TEST_CASE("StyleGan2.GeneratorDeclaresItsSplitAndGivesStylesPerLayer") {
  NodeRunner g(small_generator());
  const auto& split = test::registered("nets/stylegan2-generator").contract.style_split();
  CHECK(split.z_port == "z");
  CHECK(split.w_port == "w");
  CHECK(split.w_avg_buffer == "w_avg");
  g.input("z", torch::randn({4, 16}));
  const auto out = g.run();
  CHECK(out.at("image").sizes() == torch::IntArrayRef({4, 3, 16, 16}));
  // 4x4: a convolution and toRGB; 8 and 16: two convolutions and toRGB, sharing one style each.
  CHECK(out.at("w").sizes() == torch::IntArrayRef({4, 6, 8}));
  out.at("image").mean().backward();
  bool mapping_learns = false, const_learns = false;
  for (const auto& p : g.module().named_parameters()) {
    if (p.key().rfind("mapping.", 0) == 0) mapping_learns |= p.value().grad().defined();
    if (p.key() == "const") const_learns = p.value().grad().defined();
  }
  CHECK(mapping_learns);
  CHECK(const_learns);
  CHECK(g.module().named_buffers().contains("w_avg"));
}

TEST_CASE("StyleGan2.SamplingRepeatsForAZAndStylesReplaceTheMapping") {
  NodeRunner g(small_generator());
  g.sampling(true);
  const auto z = torch::randn({3, 16});
  g.input("z", z);
  const auto first = g.run();
  const auto again = g.run();
  CHECK(torch::equal(first.at("image"), again.at("image")));  // const noise: one image per z
  // The styles it reports, fed back in place of the mapping, make the same images.
  NodeRunner h(small_generator());
  h.sampling(true).input("z", torch::zeros({3, 16}));
  for (auto& p : h.module().named_parameters())
    p.value().detach().copy_(g.module().named_parameters()[p.key()]);
  for (auto& b : h.module().named_buffers()) b.value().copy_(g.module().named_buffers()[b.key()]);
  h.input("w", first.at("w"));
  CHECK(torch::allclose(h.run().at("image"), first.at("image"), 1e-5, 1e-6));
  NodeRunner wrong(small_generator());
  wrong.input("z", z).input("w", torch::randn({3, 5, 8}));
  CHECK_THROWS_WITH_AS(wrong.run(), doctest::Contains("this generator takes [B, 6, 8]"), NodeRunnerError);
}

TEST_CASE("StyleGan2.TruncationZeroGivesTheAverageStyleForEveryZ") {
  NodeRunner g(small_generator(R"(, "truncation": 0.0, "style_mixing": 0.0)"));
  // Training calls move w_avg away from its zero start.
  for (int i = 0; i < 3; ++i) g.input("z", torch::randn({8, 16})).run();
  const auto w_avg = g.module().named_buffers()["w_avg"].clone();
  CHECK(w_avg.abs().sum().item<double>() > 0);
  g.sampling(true).input("z", torch::randn({2, 16}) * 3);
  const auto out = g.run();
  for (int64_t layer = 0; layer < 6; ++layer)
    CHECK(torch::allclose(out.at("w").select(1, layer), w_avg.expand({2, -1})));
  CHECK(torch::allclose(out.at("image")[0], out.at("image")[1]));
}

TEST_CASE("StyleGan2.StyleMixingGivesLaterLayersAnotherZsStylesWhileTraining") {
  NodeRunner mixing(small_generator(R"(, "style_mixing": 1.0)"));
  mixing.input("z", torch::randn({4, 16}));
  const auto w = mixing.run().at("w");
  CHECK(torch::equal(w.select(1, 0), w.select(1, 0)));
  CHECK(!torch::allclose(w.select(1, 0), w.select(1, 5)));  // the last layer is always past the cutoff
  mixing.sampling(true);
  const auto sampled = mixing.run().at("w");
  CHECK(torch::allclose(sampled.select(1, 0), sampled.select(1, 5)));  // never while sampling
  NodeRunner plain(small_generator(R"(, "style_mixing": 0.0)"));
  const auto w0 = plain.input("z", torch::randn({4, 16})).run().at("w");
  CHECK(torch::allclose(w0.select(1, 0), w0.select(1, 5)));
}

TEST_CASE("StyleGan2.PathLengthKeepsItsRunningMeanAndDifferentiatesTwice") {
  NodeRunner pl(R"({"type": "losses/path-length", "params": {"weight": 2.0, "decay": 0.5}})");
  auto a = torch::randn({12, 12}, torch::requires_grad());
  auto w = torch::randn({4, 3, 4}, torch::requires_grad());
  const auto image = torch::matmul(w.view({4, 12}), a).view({4, 1, 3, 4});
  pl.input("image", image).input("w", w);
  const auto out = pl.run();
  const double length = out.at("length").item<double>();
  CHECK(length > 0);
  // The mean moved from 0 halfway (decay 0.5) to this batch's length, and is checkpointed.
  const auto state = pl.function().state_tensors();
  REQUIRE(state.count("mean"));
  CHECK(state.at("mean").item<double>() == doctest::Approx(0.5 * length));
  out.at("loss").backward();
  REQUIRE(a.grad().defined());  // the penalty reaches what maps w to the image
  CHECK(a.grad().abs().sum().item<double>() > 0);
  pl.function().restore_tensors({{"mean", torch::tensor(7.0)}});
  CHECK(pl.function().state_tensors().at("mean").item<double>() == doctest::Approx(7.0));
  NodeRunner detached(R"({"type": "losses/path-length"})");
  detached.input("image", torch::randn({2, 1, 2, 2})).input("w", torch::randn({2, 3, 4}));
  CHECK_THROWS_WITH_AS(detached.run(), doctest::Contains("records gradients"), NodeRunnerError);
}

TEST_CASE("StyleGan2.DiscriminatorScoresEachImageAndNamesAWrongSize") {
  const char* entry = R"({"type": "nets/stylegan2-discriminator", "params": {"resolution": 16,
      "channel_base": 128, "channel_max": 16}})";
  NodeRunner d(entry);
  d.input("image", torch::randn({8, 3, 16, 16}));
  CHECK(d.run().at("score").sizes() == torch::IntArrayRef({8}));
  NodeRunner wrong(entry);
  wrong.input("image", torch::randn({4, 3, 32, 32}));
  CHECK_THROWS_WITH_AS(wrong.run(), doctest::Contains("params channels and resolution make 3x16x16"),
                       NodeRunnerError);
  NodeRunner odd(entry);
  odd.input("image", torch::randn({6, 3, 16, 16}));
  CHECK_THROWS_WITH_AS(odd.run(), doctest::Contains("does not divide into groups of 4"), NodeRunnerError);
  CHECK(contains(
      test::error_of([] {
        NodeRunner(R"({"type": "nets/stylegan2-discriminator", "params": {"resolution": 48}})").module();
      }),
      "use a power of two"));
}

TEST_CASE("StyleGan2.TheEmojiGraphTrainsItsFourPhases") {
  json g = test::small_stylegan2("stylegan2-emoji-64");
  g["nodes"]["batch"]["params"]["limit"] = 64;
  g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
  const std::string graph = test::write_temp("stylegan2.json", g.dump());
  const std::string run = test::temp_dir("stylegan2-run");
  const auto r =
      test::run_cli({"run", graph, "--out", run, "--steps", "5", "--threads", "1", "--device", "cpu"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::vector<int64_t> greg, dreg;
  for (const auto& line : test::read_log(run)) {
    if (line.at("computed_at").at("Greg") == line.at("step")) greg.push_back(line.at("step"));
    if (line.at("computed_at").at("Dreg") == line.at("step")) dreg.push_back(line.at("step"));
    for (const auto& [phase, loss] : line.at("losses").items()) CHECK(std::isfinite(loss.get<double>()));
  }
  CHECK(greg == std::vector<int64_t>{1, 5});
  CHECK(dreg == std::vector<int64_t>{1});
}

TEST_CASE("StyleGan2.TheFacesGraphsTrainWithDiffAugmentOnEveryImageDSees") {
  for (const char* name : {"stylegan2-lfw-32", "stylegan2-faces-64"}) {
    CAPTURE(name);
    json g = test::small_stylegan2(name);
    // D reads only augmented images: real, generated and R1's.
    for (const char* d : {"d_real", "d_fake", "d_real_leaf"})
      CHECK(g["nodes"][g["nodes"][d]["in"]["image"].get<std::string>()]["type"] == "augment/diffaugment");
    g["outputs"] = {{"log", {{"every", 1}}}, {"checkpoint", {{"every", 1000}}}};
    const std::string graph = test::write_temp(std::string(name) + ".json", g.dump());
    const std::string run = test::temp_dir(std::string(name) + "-run");
    const auto r =
        test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1", "--device", "cpu"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(test::read_log(run).size() == 2);
  }
}
