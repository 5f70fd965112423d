// CycleGAN: the ResNet generator (its parameter count against the official code's), the image
// pool (passes, swaps half the time once full, leaves sampling alone, its state restored), and
// the Twitter <-> Apple graph on a slice: both directions translate, and a run with its pools
// resumes bit-exactly on CPU.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using test::error_of;
namespace fs = std::filesystem;

namespace {

const std::string kEmoji = data_folder() + "/emoji";

using test::contains;

std::int64_t parameter_count(const std::string& type, const std::map<std::string, ParamValue>& params) {
  auto net = make_module(test::registered(type), test::node_setup(type, params));
  std::int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  return count;
}

struct SamplingContext : test::TestContext {
  bool sampling() const override { return true; }
};

/// The CycleGAN graph, small: 8 emoji a side, batches of 2, nets of 8 filters and one block,
/// pools of 2 (full after the first iteration, so later ones swap).
nlohmann::json small_cyclegan() {
  auto g = test::shipped_graph("cyclegan-twitter2apple");
  g.erase("$schema");
  for (const char* side : {"a", "b"}) {
    g["nodes"][side]["params"]["limit"] = 8;
    g["nodes"][side]["params"]["batch"] = 2;
  }
  for (const char* m : {"G_AB", "G_BA"}) {
    g["modules"][m]["params"]["filters"] = 8;
    g["modules"][m]["params"]["blocks"] = 1;
  }
  for (const char* m : {"D_A", "D_B"}) g["modules"][m]["params"]["filters"] = 8;
  for (const char* pool : {"pool_a", "pool_b"}) g["nodes"][pool]["params"]["size"] = 2;
  return g;
}

}  // namespace

TEST_CASE("CycleganNets.ResnetGeneratorAndPatchganAsTheOfficialCode") {
  // CycleGAN's code prints 11.378 M parameters for its 9-block generator and 2.765 M for D.
  CHECK(std::llround(parameter_count("nets/resnet-generator", {}) / 1000.0) == 11378);
  CHECK(std::llround(parameter_count("nets/patchgan-discriminator", {{"norm", std::string("instance")}}) /
                     1000.0) == 2765);
  auto g = make_module(
      test::registered("nets/resnet-generator"),
      test::node_setup("nets/resnet-generator", {{"filters", std::int64_t{8}}, {"blocks", std::int64_t{2}}}));
  const auto y = g->forward({{"image", torch::randn({2, 3, 36, 52})}}).at("image");
  CHECK(y.sizes() == torch::IntArrayRef({2, 3, 36, 52}));  // any multiple of 4
  CHECK(y.abs().max().item<double>() <= 1.0);
  CHECK(contains(error_of([&] { g->forward({{"image", torch::randn({1, 3, 30, 32})}}); }), "multiples of 4"));
}

TEST_CASE("ImagePool.PassesThenSwapsHalfTheTime") {
  test::TestContext ctx;
  auto pool = make_function(test::registered("data/image-pool"),
                            test::node_setup("data/image-pool", {{"size", std::int64_t{4}}}));
  // Images numbered by their value: which ones come back says what the pool did.
  const auto batch = [](int first, int count) {
    return torch::arange(first, first + count, torch::kFloat)
        .view({count, 1, 1, 1})
        .expand({count, 1, 2, 2})
        .contiguous();
  };
  const auto ids = [](const torch::Tensor& t) { return t.select(3, 0).select(2, 0).select(1, 0); };
  // Until it is full, every image passes (and is kept).
  CHECK(torch::equal(pool->forward({{"image", batch(0, 4)}}, ctx).at("image"), batch(0, 4)));
  // Then each image is swapped for a kept one half the time: over 400 images about 200 swaps,
  // each giving back an image shown before it (in an earlier batch, or earlier in this one).
  std::int64_t swapped = 0;
  for (int round = 0; round < 100; ++round) {
    const int first = 4 + 4 * round;
    const auto out = ids(pool->forward({{"image", batch(first, 4)}}, ctx).at("image"));
    for (int i = 0; i < 4; ++i) {
      const auto id = out[i].item<std::int64_t>();
      if (id == first + i) continue;
      ++swapped;
      CHECK(id < first + i);
    }
  }
  CHECK(swapped > 160);
  CHECK(swapped < 240);
  // The kept images are its state: a fresh pool given them swaps from them.
  const auto state = pool->state_tensors();
  REQUIRE(state.at("images").size(0) == 4);
  auto copy = make_function(test::registered("data/image-pool"),
                            test::node_setup("data/image-pool", {{"size", std::int64_t{4}}}));
  copy->restore_tensors(state);
  CHECK(torch::equal(copy->state_tensors().at("images"), state.at("images")));
  // While sampling, images pass and the pool is untouched.
  SamplingContext sampling;
  CHECK(torch::equal(pool->forward({{"image", batch(1000, 4)}}, sampling).at("image"), batch(1000, 4)));
  CHECK(torch::equal(pool->state_tensors().at("images"), state.at("images")));
  // A pool of 0 passes everything.
  auto none = make_function(test::registered("data/image-pool"),
                            test::node_setup("data/image-pool", {{"size", std::int64_t{0}}}));
  CHECK(torch::equal(none->forward({{"image", batch(0, 3)}}, ctx).at("image"), batch(0, 3)));
  // A checkpoint's pool larger than the param is refused.
  auto small = make_function(test::registered("data/image-pool"),
                             test::node_setup("data/image-pool", {{"size", std::int64_t{2}}}));
  CHECK(contains(error_of([&] { small->restore_tensors(state); }), "holds 4 images but param size is 2"));
}

TEST_CASE("Cyclegan.TrainsBothWaysTranslatesAndResumesBitExactly") {
  REQUIRE(fs::is_directory(kEmoji + "/img/apple/64"));
  auto doc = small_cyclegan();
  doc["outputs"]["checkpoint"] = {{"every", 2}};
  doc["outputs"]["log"]["every"] = 1;
  const std::string graph = test::write_temp("cyclegan.json", doc.dump());
  const auto run = [&](const std::string& out, int steps, bool resume) {
    std::vector<std::string> args{"run",       graph, "--out", out, "--steps", std::to_string(steps),
                                  "--threads", "1"};
    if (resume) args.push_back("--resume");
    const auto r = test::run_cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  const std::string whole = test::temp_dir("cyclegan-whole"), parts = test::temp_dir("cyclegan-parts");
  run(whole, 4, false);
  run(parts, 2, false);
  run(parts, 4, true);
  const auto log = test::read_log(whole), resumed = test::read_log(parts);
  REQUIRE(log.size() == 4);
  REQUIRE(resumed.size() == 4);
  for (size_t i = 0; i < log.size(); ++i) {
    CAPTURE(i);
    CHECK(log[i]["losses"] == resumed[i]["losses"]);
  }
  // Each direction's grid: real, translated and reconstructed rows.
  CHECK(fs::exists(whole + "/samples/a2b-step-00000004.png"));
  CHECK(fs::exists(whole + "/samples/b2a-step-00000004.png"));
  // Both translators, chosen by --direction; without it the command asks for one.
  const std::string in = test::temp_dir("cyclegan-in");
  fs::copy_file(kEmoji + "/img/twitter/64/1f600.png", in + "/smile.png");
  for (const char* direction : {"a2b", "b2a"}) {
    CAPTURE(direction);
    const std::string out = test::temp_dir(std::string("cyclegan-out-") + direction);
    const auto t = test::run_cli(
        {"translate", graph, "--checkpoint", whole, "--input", in, "--out", out, "--direction", direction});
    CHECK_MESSAGE(t.exit_code == 0, t.err);
    CHECK(fs::exists(out + "/smile.png"));
    CHECK(contains(t.out, std::string("(") + direction + ")"));
  }
  const auto t =
      test::run_cli({"translate", graph, "--checkpoint", whole, "--input", in, "--out", in + "-x"});
  CHECK(t.exit_code == 2);
  CHECK(contains(t.err, "several directions (a2b, b2a): choose one with --direction"));
}

TEST_CASE("Cyclegan.CheckpointsHoldThePools") {
  // What makes the resume above exact: each pool's kept fakes are in the checkpoint (a run
  // resumed with empty pools would show D new fakes where the uninterrupted one swaps in old ones).
  REQUIRE(fs::is_directory(kEmoji + "/img/apple/64"));
  const std::string graph = test::write_temp("cyclegan-pools.json", small_cyclegan().dump());
  const std::string run = test::temp_dir("cyclegan-pools");
  REQUIRE(test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"}).exit_code == 0);
  torch::serialize::InputArchive in;
  in.load_from(run + "/checkpoints/step-00000002.pt");
  for (const char* pool : {"pool_a", "pool_b"}) {
    CAPTURE(pool);
    torch::serialize::InputArchive state;
    REQUIRE(in.try_read(std::string("state/") + pool, state));
    torch::Tensor images;
    REQUIRE(state.try_read("images", images));
    CHECK(images.sizes() == torch::IntArrayRef({2, 3, 64, 64}));  // full: two fakes of 64x64
  }
}

TEST_CASE("Cyclegan.PhotoToVanGoghTranslatesAPhotoAtItsOwnSize") {
  const std::string photos = data_folder() + "/vangogh/photos";
  REQUIRE(fs::is_regular_file(photos + "/fruits.jpg"));
  auto g = test::shipped_graph("cyclegan-photo2vangogh");
  g.erase("$schema");
  for (const char* m : {"G_AB", "G_BA"}) {
    g["modules"][m]["params"]["filters"] = 8;
    g["modules"][m]["params"]["blocks"] = 1;
  }
  for (const char* m : {"D_A", "D_B"}) g["modules"][m]["params"]["filters"] = 8;
  const std::string graph = test::write_temp("photo2vangogh.json", g.dump());
  const std::string run = test::temp_dir("photo2vangogh-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "1", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // fruits.jpg is 512x480: its shorter side to 256 makes 273x256, cropped to a multiple of 4.
  const std::string in = test::temp_dir("photo2vangogh-in"), out = test::temp_dir("photo2vangogh-out");
  fs::copy_file(photos + "/fruits.jpg", in + "/fruits.jpg");
  const auto t = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in, "--out", out,
                                "--direction", "a2b", "--threads", "1"});
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  CHECK(test::png_size(out + "/fruits.png") == std::make_pair(272, 256));
}

TEST_CASE("Cyclegan.ThePlanShowsTheLearningRateDecay") {
  const auto r =
      test::run_cli({"plan", std::string(GANGLION_SOURCE_DIR) + "/graphs/cyclegan-twitter2apple.json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out,
                 "G_AB adam lr 0.0002 betas (0.5, 0.999), lr constant to iteration 5000 then linearly to "
                 "x0.0 at the run's last iteration"));
  // A step schedule too, through --set.
  const auto s = test::run_cli(
      {"plan", std::string(GANGLION_SOURCE_DIR) + "/graphs/cyclegan-twitter2apple.json", "--set",
       "optimizers.adam_d.schedule={\"type\": \"step\", \"every\": 1000, \"gamma\": 0.5}"});
  REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  CHECK(contains(s.out, "D_A adam lr 0.0002 betas (0.5, 0.999), lr x0.5 every 1000 iterations"));
}

TEST_CASE("Cyclegan.TheEmojiGraphTakesItsQualityProbe") {
  // bench/cyclegan-quality.sh scores the Twitter <-> Apple runs through this probe, with the style
  // classifier's graph beside the category one.
  const std::string graphs = std::string(GANGLION_SOURCE_DIR) + "/graphs/";
  auto r = test::run_cli({"validate", graphs + "cyclegan-twitter2apple.json", "--include",
                          graphs + "probes/cyclegan-emoji-quality.json"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out, "6 modules"));
  r = test::run_cli({"validate", graphs + "classifier-emoji-style.json"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
}
