// Image-to-image: data/paired-images (pairs by name, one transform for both, the held-out split),
// the pix2pix nets (U-Net, PatchGAN's receptive field), nets/concat and losses/l1, the pix2pix
// graph on a slice of the emoji, and `ganglion translate` on a folder of the user's own files.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using test::error_of;
namespace fs = std::filesystem;

namespace {

const std::string kEmoji = data_folder() + "/emoji";

using test::contains;

std::shared_ptr<Source> paired(std::map<std::string, ParamValue> params) {
  if (!params.count("shuffle")) params["shuffle"] = false;
  return make_source(test::registered("data/paired-images"),
                     test::node_setup("data/paired-images", params, 3));
}

std::shared_ptr<NetModule> module(const std::string& type, const std::map<std::string, ParamValue>& params) {
  return make_module(test::registered(type), test::node_setup(type, params));
}

/// Copies Twitter's emoji `code`.png into `dir` as `name`.
void copy_emoji(const std::string& code, const std::string& dir, const std::string& name) {
  fs::create_directories(fs::path(dir / fs::path(name)).parent_path());
  fs::copy_file(kEmoji + "/img/twitter/64/" + code + ".png", fs::path(dir) / name,
                fs::copy_options::overwrite_existing);
}

/// A binary PPM of `rows` x `cols`, a horizontal ramp: an image of any size without a codec.
void write_ppm(const std::string& path, int rows, int cols) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << cols << " " << rows << "\n255\n";
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const char v = static_cast<char>(x * 255 / std::max(1, cols - 1));
      out.put(v).put(static_cast<char>(y % 256)).put(v);
    }
}

/// The pix2pix graph, small: `limit` pairs, batches of 4, nets of 8 filters.
nlohmann::json small_pix2pix(int limit) {
  auto g = test::shipped_graph("pix2pix-twitter2google");
  g.erase("$schema");
  g["nodes"]["pairs"]["params"]["limit"] = limit;
  g["nodes"]["pairs"]["params"]["batch"] = 4;
  g["modules"]["G"]["params"]["filters"] = 8;
  g["modules"]["D"]["params"]["filters"] = 8;
  return g;
}

}  // namespace

TEST_CASE("PairedImages.PairsByNameThroughOneTransform") {
  REQUIRE(fs::is_directory(kEmoji + "/img/twitter/64"));
  const std::string a = test::temp_dir("pairs-a"), b = test::temp_dir("pairs-b");
  for (const char* code : {"1f600", "1f601", "1f602"}) {
    copy_emoji(code, a, std::string(code) + ".png");
    copy_emoji(code, b, std::string(code) + ".png");
  }
  copy_emoji("1f603", a, "only-in-a.png");  // no partner: left out
  copy_emoji("1f604", b, "only-in-b.png");
  test::TestContext ctx;
  const std::map<std::string, ParamValue> base{{"folder_a", a},
                                               {"folder_b", b},
                                               {"size", std::int64_t{48}},
                                               {"resize", std::int64_t{64}},
                                               {"crop", std::string("random")},
                                               {"flip", true},
                                               {"batch", std::int64_t{3}}};
  const auto out = paired(base)->next({}, ctx);
  REQUIRE(out.at("a").sizes() == torch::IntArrayRef({3, 3, 48, 48}));
  // Identical files: identical crops and flips, so the two halves agree pixel for pixel.
  CHECK(torch::equal(out.at("a"), out.at("b")));
  // The crops are random (not all centred), so agreeing is the one transform's doing.
  auto centre = base;
  centre["crop"] = std::string("centre");
  centre["flip"] = false;
  CHECK_FALSE(torch::equal(paired(centre)->next({}, ctx).at("a"), out.at("a")));
  // Three pairs, not four: the strays of either folder are left out.
  auto four = base;
  four["batch"] = std::int64_t{4};
  CHECK(contains(error_of([&] { paired(four); }), "larger than the 3"));
  // Channels apiece: a grayscale B beside an RGB A.
  auto gray = base;
  gray["channels_b"] = std::int64_t{1};
  CHECK(paired(gray)->next({}, ctx).at("b").size(1) == 1);
}

TEST_CASE("PairedImages.SplitKeepsGroupsOnOneSide") {
  REQUIRE(fs::is_directory(kEmoji + "/img/twitter/64"));
  const std::string a = test::temp_dir("split-a"), b = test::temp_dir("split-b");
  // Groups x (two names, a skin tone's way), y, z: with test_every 2, test holds x and z.
  for (const char* name : {"x.png", "x-1f3fb.png", "y.png", "z.png"}) {
    copy_emoji("1f600", a, name);
    copy_emoji("1f600", b, name);
  }
  const auto count = [&](const std::string& split, std::int64_t batch) {
    return error_of([&] {
      paired({{"folder_a", a},
              {"folder_b", b},
              {"split", split},
              {"test_every", std::int64_t{2}},
              {"batch", batch}});
    });
  };
  CHECK(count("test", 3).empty());
  CHECK(contains(count("test", 4), "larger than the 3"));
  CHECK(count("train", 1).empty());
  CHECK(contains(count("train", 2), "larger than the 1"));
  // Without a separator every name is its own group: x, x-1f3fb, y, z -> test x and y.
  CHECK(contains(error_of([&] {
                   paired({{"folder_a", a},
                           {"folder_b", b},
                           {"split", std::string("test")},
                           {"test_every", std::int64_t{2}},
                           {"group_separator", std::string()},
                           {"batch", std::int64_t{3}}});
                 }),
                 "larger than the 2"));
}

TEST_CASE("PairedImages.MistakesAreNamed") {
  REQUIRE(fs::is_directory(kEmoji + "/img/twitter/64"));
  const std::string a = test::temp_dir("bad-a"), b = test::temp_dir("bad-b");
  copy_emoji("1f600", a, "one.png");
  copy_emoji("1f600", b, "two.png");
  CHECK(contains(error_of([&] {
                   paired({{"folder_a", a}, {"folder_b", b + "/nowhere"}});
                 }),
                 "param folder_b: " + b + "/nowhere is not a folder"));
  CHECK(contains(error_of([&] {
                   paired({{"folder_a", a}, {"folder_b", b}, {"batch", std::int64_t{1}}});
                 }),
                 "has a partner of the same name"));
  copy_emoji("1f600", b, "one.jpg");
  copy_emoji("1f600", b, "one.png");
  CHECK(contains(error_of([&] {
                   paired({{"folder_a", a}, {"folder_b", b}, {"batch", std::int64_t{1}}});
                 }),
                 "have the same name"));
  fs::remove(fs::path(b) / "one.jpg");
  CHECK(contains(
      error_of([&] {
        paired({{"folder_a", a}, {"folder_b", b}, {"size", std::int64_t{64}}, {"resize", std::int64_t{32}}});
      }),
      "smaller than param size"));
  // A damaged partner fails the draw with its name.
  std::ofstream(fs::path(b) / "one.png", std::ios::trunc) << "not a png";
  test::TestContext ctx;
  CHECK(contains(error_of([&] {
                   paired({{"folder_a", a}, {"folder_b", b}, {"batch", std::int64_t{1}}})->next({}, ctx);
                 }),
                 "one.png: does not decode"));
}

TEST_CASE("Pix2pixNets.UnetKeepsTheSizeAndDropsOutOnlyInTraining") {
  torch::manual_seed(1);
  auto g =
      module("nets/unet-generator",
             {{"depth", std::int64_t{6}}, {"filters", std::int64_t{8}}, {"norm", std::string("instance")}});
  const auto x = torch::randn({2, 3, 64, 64});
  g->train(true);
  const auto y1 = g->forward({{"image", x}}).at("image"), y2 = g->forward({{"image", x}}).at("image");
  CHECK(y1.sizes() == torch::IntArrayRef({2, 3, 64, 64}));
  CHECK(y1.abs().max().item<double>() <= 1.0);
  CHECK_FALSE(torch::allclose(y1, y2));  // dropout is the noise
  g->train(false);
  CHECK(torch::equal(g->forward({{"image", x}}).at("image"), g->forward({{"image", x}}).at("image")));
  // Any multiple of 2^depth: 128x64 too; 48 is refused with the fix.
  CHECK(g->forward({{"image", torch::randn({1, 3, 128, 64})}}).at("image").size(2) == 128);
  CHECK(contains(error_of([&] {
                   g->forward({{"image", torch::randn({1, 3, 48, 48})}});
                 }),
                 "multiples of 64"));
  CHECK(contains(error_of([&] {
                   g->forward({{"image", torch::randn({1, 1, 64, 64})}});
                 }),
                 "1 channels but param in_channels is 3"));
  // Depth 8, 256x256, is the paper's: its official code prints "54.414 M" parameters for it.
  auto paper = module("nets/unet-generator", {});
  std::int64_t count = 0;
  for (const auto& p : paper->parameters()) count += p.numel();
  CHECK(std::llround(count / 1000.0) == 54414);
}

TEST_CASE("Pix2pixNets.PatchganSeesSeventyPixelPatches") {
  // The input pixels one score depends on, measured by its gradient (no norm: a norm would
  // couple every pixel of the image).
  for (const auto& [layers, field] :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 16}, {2, 34}, {3, 70}}) {
    CAPTURE(layers);
    auto d = module("nets/patchgan-discriminator",
                    {{"layers", layers}, {"filters", std::int64_t{4}}, {"norm", std::string("none")}});
    auto x = torch::randn({1, 3, 160, 160}).requires_grad_(true);
    const auto score = d->forward({{"image", x}}).at("score");
    REQUIRE(score.dim() == 4);
    const std::int64_t cy = score.size(2) / 2, cx = score.size(3) / 2;
    score[0][0][cy][cx].backward();
    const auto touched = x.grad().abs().sum(torch::IntArrayRef{0, 1}).gt(0);
    const std::int64_t rows = touched.any(1).sum().item().toLong(),
                       cols = touched.any(0).sum().item().toLong();
    CHECK(rows == field);
    CHECK(cols == field);
  }
  auto d = module("nets/patchgan-discriminator", {{"in_channels", std::int64_t{6}}});
  CHECK(d->forward({{"image", torch::randn({2, 6, 64, 64})}}).at("score").sizes() ==
        torch::IntArrayRef({2, 1, 6, 6}));
  CHECK(contains(error_of([&] {
                   d->forward({{"image", torch::randn({2, 3, 64, 64})}});
                 }),
                 "3 channels but param in_channels is 6"));
}

TEST_CASE("Pix2pixNets.ConcatAndL1") {
  test::TestContext ctx;
  auto concat_setup = test::node_setup("nets/concat");
  concat_setup.inputs = {"parts.a", "parts.b"};
  auto concat = make_function(test::registered("nets/concat"), concat_setup);
  const auto a = torch::zeros({2, 3, 4, 4}), b = torch::ones({2, 1, 4, 4});
  const auto joined = concat->forward({{"parts.a", a}, {"parts.b", b}}, ctx).at("joined");
  CHECK(joined.sizes() == torch::IntArrayRef({2, 4, 4, 4}));
  CHECK(joined[0][3].min().item<double>() == 1.0);  // parts.b comes second
  CHECK(joined[0][2].max().item<double>() == 0.0);
  CHECK(contains(error_of([&] {
                   concat->forward({{"parts.a", a}, {"parts.b", torch::ones({2, 1, 4, 5})}}, ctx);
                 }),
                 "may differ only in dimension 1"));
  auto l1 = make_function(test::registered("losses/l1"), test::node_setup("losses/l1"));
  const auto loss =
      l1->forward({{"output", torch::full({2, 3}, 0.5)}, {"target", torch::full({2, 3}, -0.25)}}, ctx);
  CHECK(loss.at("loss").item<double>() == doctest::Approx(0.75));
  CHECK(contains(error_of([&] { l1->forward({{"output", a}, {"target", b}}, ctx); }), "of one shape"));
}

TEST_CASE("Pix2pix.TrainsOnASliceAndTranslatesAUsersFolder") {
  REQUIRE(fs::is_directory(kEmoji + "/img/google/64"));
  const std::string graph = test::write_temp("pix2pix.json", small_pix2pix(8).dump());
  const std::string run = test::temp_dir("pix2pix-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(fs::exists(run + "/samples/step-00000002.png"));
  // The samples grid: input, output and target rows of four each.
  const auto [grid_w, grid_h] = test::png_size(run + "/samples/step-00000002.png");
  CHECK(grid_w == 4 * 66 + 2);
  CHECK(grid_h == 3 * 66 + 2);

  // The user's folder: two emoji (one in a sub-folder, one a JPEG-named PNG), a photo of another
  // size, and a file that is no image.
  const std::string in = test::temp_dir("translate-in"), out = test::temp_dir("translate-out") + "/made";
  copy_emoji("1f600", in, "smile.png");
  copy_emoji("1f431", in, "animals/cat.png");
  write_ppm(in + "/photo.ppm", 70, 100);
  std::ofstream(in + "/notes.txt") << "not an image";
  std::ofstream(in + "/.hidden.png") << "skipped: hidden";
  const auto t = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in, "--out", out});
  CHECK(t.exit_code == 2);  // one refused
  CHECK(contains(t.err, in + "/notes.txt: refused"));
  CHECK(contains(t.err, "does not decode"));
  CHECK_FALSE(contains(t.err, "hidden"));
  CHECK(contains(t.out, "translated 3 of 4 files into " + out));
  for (const char* name : {"smile.png", "animals/cat.png", "photo.png"}) {
    CAPTURE(name);
    REQUIRE(fs::exists(out + "/" + name));
    CHECK(test::png_size(out + "/" + name) == std::make_pair(64, 64));  // resized to the net's 64, no border
  }
  CHECK_FALSE(fs::exists(out + "/notes.png"));
  // Tiles: the photo at its own size, cut into 64x64 tiles and put back together.
  const std::string tiled = test::temp_dir("translate-tiles");
  const auto tt = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in + "/photo.ppm",
                                 "--out", tiled, "--set", "outputs.translate.tile=64", "--set",
                                 "outputs.translate.reader.params.fit=\"native\""});
  REQUIRE_MESSAGE(tt.exit_code == 0, tt.err);
  CHECK(test::png_size(tiled + "/photo.png") == std::make_pair(100, 70));
  // Without tiles, the native size is not one the U-Net takes: refused, naming the file and the fix.
  const auto nt = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in + "/photo.ppm",
                                 "--out", tiled, "--set", "outputs.translate.reader.params.fit=\"native\""});
  CHECK(nt.exit_code == 2);
  CHECK(contains(nt.err, "photo.ppm: refused"));
  CHECK(contains(nt.err, "multiples of 64"));
}

TEST_CASE("Translate.MistakesStopBeforeAnythingIsWritten") {
  REQUIRE(fs::is_directory(kEmoji + "/img/google/64"));
  const std::string graph = test::write_temp("pix2pix-mistakes.json", small_pix2pix(4).dump());
  const std::string run = test::temp_dir("pix2pix-mistakes-run");
  REQUIRE(test::run_cli({"run", graph, "--out", run, "--steps", "1", "--threads", "1"}).exit_code == 0);
  const std::string in = test::temp_dir("mistakes-in");
  copy_emoji("1f600", in, "smile.png");
  // --out inside --input would mix the translations with what is translated.
  auto r = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in, "--out", in + "/out"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "is inside --input"));
  CHECK_FALSE(fs::exists(in + "/out"));
  r = test::run_cli(
      {"translate", graph, "--checkpoint", run, "--input", in + "/missing", "--out", in + "-out"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "--input " + in + "/missing: no such file or folder"));
  r = test::run_cli(
      {"translate", graph, "--checkpoint", run, "--input", in, "--out", in + "-out", "--direction", "b2a"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "--direction b2a"));
  // A data source whose params changed since the run cannot take the run's position; the error
  // says how to draw from other data instead.
  r = test::run_cli({"sample", graph, "--checkpoint", run, "--out", in + "-sample.png", "--set",
                     "nodes.pairs.params.limit=2", "--set", "nodes.pairs.params.batch=2"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "cannot continue from the checkpoint"));
  CHECK(contains(r.err, "add a source node of its own"));
  // A graph without a translator says where one is declared.
  auto plain = small_pix2pix(4);
  plain["outputs"].erase("translate");
  const std::string no_translator = test::write_temp("pix2pix-plain.json", plain.dump());
  r = test::run_cli({"translate", no_translator, "--checkpoint", run, "--input", in, "--out", in + "-out"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "declares no translator"));
  // The loader checks the translator's entry against the contracts.
  auto wrong = small_pix2pix(4);
  wrong["outputs"]["translate"]["node"] = "d_loss";
  wrong["outputs"]["translate"]["reader"]["type"] = "data/image-folder";
  r = test::run_cli({"validate", test::write_temp("pix2pix-wrong.json", wrong.dump())});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "/outputs/translate/node"));
  CHECK(contains(r.err, "applies no module"));
  wrong["outputs"]["translate"]["node"] = "fake";
  r = test::run_cli({"validate", test::write_temp("pix2pix-wrong.json", wrong.dump())});
  CHECK(contains(r.err, "has no path param \"file\""));
}

TEST_CASE("ImageError.L1PsnrAndSsimAsDefined") {
  test::TestContext ctx;
  auto metric =
      make_function(test::registered("metrics/image-error"), test::node_setup("metrics/image-error"));
  const auto x = torch::rand({3, 3, 32, 32}) * 2 - 1;
  auto same = metric->forward({{"output", x}, {"target", x}}, ctx);
  CHECK(same.at("l1").item<double>() == 0.0);
  CHECK(same.at("psnr").item<double>() == 100.0);
  CHECK(same.at("ssim").item<double>() == doctest::Approx(1.0));
  // Two flat images at a and b (on the [0, 1] scale): SSIM's variance terms are 1, its mean term
  // (2ab + C1) / (a^2 + b^2 + C1).
  const double a = 0.8, b = 0.5, c1 = 1e-4;
  const auto flat = [](double v) { return torch::full({2, 1, 16, 16}, v * 2 - 1); };
  auto far = metric->forward({{"output", flat(a)}, {"target", flat(b)}}, ctx);
  CHECK(far.at("l1").item<double>() == doctest::Approx(0.3));
  CHECK(far.at("psnr").item<double>() == doctest::Approx(-10 * std::log10(0.09)).epsilon(1e-5));
  CHECK(far.at("ssim").item<double>() ==
        doctest::Approx((2 * a * b + c1) / (a * a + b * b + c1)).epsilon(1e-5));
  // Noise lowers SSIM far more than a shift of the same mean error: structure, not only distance.
  const auto ramp = torch::linspace(-0.5, 0.5, 32).expand({1, 3, 32, 32}).contiguous();
  const auto shifted = metric->forward({{"output", ramp + 0.2}, {"target", ramp}}, ctx);
  const auto noisy =
      metric->forward({{"output", ramp + 0.2 * torch::randn_like(ramp).sign()}, {"target", ramp}}, ctx);
  CHECK(noisy.at("l1").item<double>() == doctest::Approx(shifted.at("l1").item<double>()));
  CHECK(shifted.at("ssim").item<double>() > 0.9);
  CHECK(noisy.at("ssim").item<double>() < 0.5);
  CHECK(contains(error_of([&] {
                   metric->forward({{"output", x}, {"target", flat(a)}}, ctx);
                 }),
                 "compare images of one shape"));
  CHECK(contains(error_of([&] {
                   metric->forward(
                       {{"output", torch::zeros({1, 3, 8, 8})}, {"target", torch::zeros({1, 3, 8, 8})}}, ctx);
                 }),
                 "smaller than SSIM's 11x11 window"));
}

TEST_CASE("CannyEdges.OutlinesAndTheirPolarity") {
  test::TestContext ctx;
  const auto edges_of = [&](const std::map<std::string, ParamValue>& params, const torch::Tensor& image) {
    auto node =
        make_function(test::registered("data/canny-edges"), test::node_setup("data/canny-edges", params));
    return node->forward({{"image", image}}, ctx).at("edges");
  };
  // A dark square on white: edges along its border only.
  auto image = torch::ones({2, 3, 32, 32});
  image.narrow(2, 8, 16).narrow(3, 8, 16).fill_(-1);
  const auto dark = edges_of({{"blur", std::int64_t{0}}}, image);
  REQUIRE(dark.sizes() == torch::IntArrayRef({2, 1, 32, 32}));
  const auto on_edge = dark.lt(0);
  CHECK(on_edge.any().item<bool>());
  CHECK_FALSE(on_edge.narrow(2, 12, 8).narrow(3, 12, 8).any().item<bool>());  // not inside
  CHECK_FALSE(on_edge.narrow(2, 0, 4).any().item<bool>());                    // not far outside
  const auto near_border = on_edge.narrow(2, 6, 20).narrow(3, 6, 20).sum().item<std::int64_t>();
  CHECK(near_border == on_edge.sum().item<std::int64_t>());  // all within two pixels of it
  // White lines on black are the same map, inverted.
  CHECK(torch::equal(edges_of({{"blur", std::int64_t{0}}, {"dark_lines", false}}, image), -dark));
  // Grayscale input is read as it is.
  CHECK(torch::equal(edges_of({{"blur", std::int64_t{0}}}, image.narrow(1, 0, 1)), dark));
  CHECK(contains(error_of([&] { edges_of({{"blur", std::int64_t{4}}}, image); }), "use an odd size"));
  CHECK(contains(error_of([&] { edges_of({{"low", 300.0}}, image); }), "is above param high"));
}

TEST_CASE("Pix2pix.EdgesToEmojiTrainsAndTranslatesADrawing") {
  REQUIRE(fs::is_directory(kEmoji + "/img/twitter/64"));
  auto g = test::shipped_graph("pix2pix-edges2emoji");
  g.erase("$schema");
  g["nodes"]["batch"]["params"]["limit"] = 8;
  g["nodes"]["batch"]["params"]["batch"] = 4;
  g["modules"]["G"]["params"]["filters"] = 8;
  g["modules"]["D"]["params"]["filters"] = 8;
  const std::string graph = test::write_temp("edges2emoji.json", g.dump());
  const std::string run = test::temp_dir("edges2emoji-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // The edge row (one channel) is drawn in gray beside the colour rows.
  CHECK(test::png_size(run + "/samples/step-00000002.png") == std::make_pair(4 * 66 + 2, 3 * 66 + 2));
  // A user's drawing, read as one channel, becomes a colour emoji.
  const std::string in = test::temp_dir("edges2emoji-in"), out = test::temp_dir("edges2emoji-out");
  write_ppm(in + "/drawing.ppm", 80, 80);
  const auto t = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in, "--out", out});
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  const std::string png = test::read_file(out + "/drawing.png");
  REQUIRE(png.size() > 26);
  CHECK(static_cast<int>(png[25]) == 2);  // IHDR colour type 2: RGB
}
