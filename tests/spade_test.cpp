// SPADE: label maps of named colours (made from images, read from a painted or an integer file,
// with the malformed files a user may give), the SPADE generator (sizes, the code input, spectral
// norm on its blocks only), and the labels -> emoji graph on a
// slice translating the demo map scripts/make-demo-label-map.py paints; the image encoder for
// style with its reparameterised code and KL term, and the graph that trains it.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using test::error_of;
namespace fs = std::filesystem;

namespace {

using test::contains;

/// A binary PGM (one channel, 8 bits) whose pixel (y, x) is value(y, x).
void write_pgm(const std::string& path, int rows, int cols, const std::function<int(int, int)>& value) {
  std::ofstream out(path, std::ios::binary);
  out << "P5\n" << cols << " " << rows << "\n255\n";
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) out.put(static_cast<char>(value(y, x)));
}

TensorMap read_map(const std::string& file, std::map<std::string, ParamValue> params) {
  params["file"] = file;
  test::TestContext ctx;
  return make_source(test::registered("data/label-map-file"), test::node_setup("data/label-map-file", params))
      ->next({}, ctx);
}

/// A shipped SPADE graph on eight emoji with narrow nets, written to a temporary file.
std::string small_spade_graph(const std::string& name) {
  REQUIRE(fs::is_directory(data_folder() + "/emoji/img/twitter/64"));
  auto g = test::shipped_graph(name);
  g.erase("$schema");
  g["nodes"]["batch"]["params"]["limit"] = 8;
  g["nodes"]["batch"]["params"]["batch"] = 4;
  g["modules"]["G"]["params"]["filters"] = 4;
  g["modules"]["G"]["params"]["hidden"] = 16;
  g["modules"]["D"]["params"]["filters"] = 8;
  if (g["modules"].contains("E")) g["modules"]["E"]["params"]["filters"] = 4;
  return test::write_temp(name + ".json", g.dump());
}

std::string demo_map(const std::string& dir) {
  const std::string file = dir + "/smiley.png";
  const std::string cmd =
      std::string(GANGLION_SOURCE_DIR) + "/scripts/make-demo-label-map.py " + file + " > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return file;
}

}  // namespace

TEST_CASE("PaletteLabels.EachPixelItsNearestColour") {
  test::TestContext ctx;
  auto node = make_function(test::registered("data/palette-labels"), test::node_setup("data/palette-labels"));
  // Pixels near white, near Twemoji's yellow (255, 204, 77) and near its red (221, 46, 68).
  const auto px = [](int r, int g, int b) {
    return torch::tensor({r / 127.5 - 1, g / 127.5 - 1, b / 127.5 - 1});
  };
  auto image = torch::stack({px(250, 250, 250), px(250, 200, 80), px(215, 50, 70)}, 1).view({1, 3, 1, 3});
  const auto out = node->forward({{"image", image.to(torch::kFloat)}}, ctx);
  CHECK(torch::equal(out.at("labels"), torch::tensor({0, 7, 5}, torch::kLong).view({1, 1, 3})));
  CHECK(out.at("one_hot").sizes() == torch::IntArrayRef({1, 12, 1, 3}));
  CHECK(out.at("one_hot").sum(1).eq(1).all().item<bool>());
  CHECK(out.at("one_hot")[0][7][0][1].item<double>() == 1.0);
  // The colours output is the palette's colour of each class: yellow exactly.
  CHECK(out.at("colours")[0][1][0][1].item<double>() == doctest::Approx(204 / 127.5 - 1));
  // A palette of one's own; a malformed one is refused with the form to use.
  auto two = make_function(
      test::registered("data/palette-labels"),
      test::node_setup("data/palette-labels", {{"palette", std::string("sky=#0000ff,sea=#00ff00")}}));
  CHECK(two->forward({{"image", image.to(torch::kFloat)}}, ctx).at("one_hot").size(1) == 2);
  CHECK(contains(error_of([] {
                   make_function(
                       test::registered("data/palette-labels"),
                       test::node_setup("data/palette-labels", {{"palette", std::string("sky=blue")}}));
                 }),
                 "is not name=#rrggbb"));
  CHECK(contains(error_of([] {
                   make_function(
                       test::registered("data/palette-labels"),
                       test::node_setup("data/palette-labels", {{"palette", std::string("only=#000000")}}));
                 }),
                 "at least two"));
}

TEST_CASE("LabelMapFile.PaintedIntegerAndMalformedMaps") {
  const std::string dir = test::temp_dir("label-maps");
  // The demo map: white around, yellow face, dark-brown features; resized by nearest neighbour,
  // so every pixel stays one class.
  const auto painted = read_map(demo_map(dir), {{"size", std::int64_t{32}}});
  REQUIRE(painted.at("one_hot").sizes() == torch::IntArrayRef({1, 12, 32, 32}));
  CHECK(painted.at("one_hot").sum(1).eq(1).all().item<bool>());
  const auto labels = painted.at("labels")[0];
  CHECK(labels[0][0].item<std::int64_t>() == 0);                                 // white
  CHECK(labels[16][16].item<std::int64_t>() == 7);                               // yellow
  CHECK(torch::bincount(labels.flatten(), {}, 12)[4].item<std::int64_t>() > 0);  // dark-brown eyes, mouth
  // An integer map: its values are the classes.
  write_pgm(dir + "/ints.pgm", 8, 8, [](int y, int x) { return (x < 4 ? 2 : 9) + 0 * y; });
  const auto ints =
      read_map(dir + "/ints.pgm", {{"format", std::string("integers")}, {"fit", std::string("native")}});
  CHECK(ints.at("labels")[0][3][1].item<std::int64_t>() == 2);
  CHECK(ints.at("labels")[0][3][6].item<std::int64_t>() == 9);
  // A class the palette does not have, a colour image given as integers, and no image at all.
  write_pgm(dir + "/too-high.pgm", 4, 4, [](int, int) { return 12; });
  CHECK(contains(error_of([&] {
                   read_map(dir + "/too-high.pgm", {{"format", std::string("integers")}});
                 }),
                 "too-high.pgm: holds class 12 but the palette has 12 (0..11)"));
  CHECK(contains(error_of([&] {
                   read_map(dir + "/smiley.png", {{"format", std::string("integers")}});
                 }),
                 "smiley.png: has 3 channels; an integer label map has one"));
  std::ofstream(dir + "/broken.png") << "\x89PNG but not really";
  CHECK(contains(error_of([&] { read_map(dir + "/broken.png", {}); }), "broken.png: does not decode"));
  CHECK(contains(error_of([&] {
                   read_map(dir + "/smiley.png", {{"format", std::string("ints")}});
                 }),
                 "param format is \"ints\""));
}

TEST_CASE("SpadeNets.TheMapShapesTheImage") {
  torch::manual_seed(3);
  const std::map<std::string, ParamValue> small{
      {"classes", std::int64_t{4}}, {"filters", std::int64_t{4}}, {"hidden", std::int64_t{8}}};
  auto g =
      make_module(test::registered("nets/spade-generator"), test::node_setup("nets/spade-generator", small));
  g->eval();
  // Two maps that differ in their left half only.
  auto labels = torch::zeros({1, 4, 64, 64});
  labels.select(1, 0).fill_(1);
  auto other = labels.clone();
  other.narrow(3, 0, 32).select(1, 0).fill_(0);
  other.narrow(3, 0, 32).select(1, 2).fill_(1);
  const auto a = g->forward({{"labels", labels}}).at("image"),
             b = g->forward({{"labels", other}}).at("image");
  CHECK(a.sizes() == torch::IntArrayRef({1, 3, 64, 64}));
  CHECK(a.abs().max().item<double>() <= 1.0);
  CHECK((a - b).abs().mean().item<double>() > 1e-3);  // the map is what the image is made from
  CHECK(g->forward({{"labels", torch::zeros({1, 4, 32, 96})}}).at("image").size(3) == 96);
  CHECK(contains(error_of([&] {
                   g->forward({{"labels", torch::zeros({1, 4, 48, 48})}});
                 }),
                 "multiples of 32"));
  CHECK(contains(error_of([&] {
                   g->forward({{"labels", torch::zeros({1, 5, 64, 64})}});
                 }),
                 "5 channels but param classes is 4"));
  // Spectral norm wraps the blocks' convolutions, not the SPADE nets' own.
  std::vector<std::string> normalised;
  for (const auto& b : g->named_buffers())
    if (contains(b.key(), "weight_u")) normalised.push_back(b.key());
  CHECK(normalised.size() == 7 * 2 + 4);  // conv0 and conv1 of seven blocks, the four shortcuts
  for (const auto& name : normalised) CHECK(contains(name, ".convs."));
  // With a code connected, the 2x2 maps come from it.
  auto setup = test::node_setup("nets/spade-generator", small);
  setup.inputs = {"labels", "z"};
  auto coded = make_module(test::registered("nets/spade-generator"), setup);
  coded->eval();
  const auto z1 = coded->forward({{"labels", labels}, {"z", torch::randn({1, 256})}}).at("image");
  const auto z2 = coded->forward({{"labels", labels}, {"z", torch::randn({1, 256})}}).at("image");
  CHECK_FALSE(torch::allclose(z1, z2));
}

TEST_CASE("Spade.TrainsOnASliceAndPaintsTheDemoMap") {
  const std::string graph = small_spade_graph("spade-labels2emoji");
  const std::string run = test::temp_dir("spade-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // Rows: the label map in its colours, the painted emoji, the emoji it came from.
  CHECK(test::png_size(run + "/samples/step-00000002.png") == std::make_pair(4 * 66 + 2, 3 * 66 + 2));
  const std::string in = test::temp_dir("spade-in"), out = test::temp_dir("spade-out");
  demo_map(in);
  std::ofstream(in + "/sketch.png") << "not a png";
  const auto t = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in, "--out", out});
  CHECK(t.exit_code == 2);  // the damaged map is refused, the demo map painted
  CHECK(contains(t.err, "sketch.png: refused"));
  CHECK(test::png_size(out + "/smiley.png") == std::make_pair(64, 64));
}

TEST_CASE("SpadeNets.TwoScalesAndTheirFeatures") {
  auto d = make_module(test::registered("nets/multiscale-discriminator"),
                       test::node_setup("nets/multiscale-discriminator",
                                        {{"in_channels", std::int64_t{5}}, {"filters", std::int64_t{4}}}));
  const auto x = torch::randn({2, 5, 64, 64}), y = torch::randn({2, 5, 64, 64});
  const auto out = d->forward({{"image", x}});
  // Padding 2, as pix2pixHD: 64 -> 33 -> 17 -> 9 -> 10 -> 11 at full size, 32 -> ... -> 7 at half.
  CHECK(out.at("score").sizes() == torch::IntArrayRef({2, 1, 11, 11}));
  CHECK(out.at("score_half").sizes() == torch::IntArrayRef({2, 1, 7, 7}));
  // Four intermediate maps a scale: 4x33x33, 8x17x17, 16x9x9, 32x10x10, then the same at half.
  const std::int64_t width = 4 * 33 * 33 + 8 * 17 * 17 + 16 * 9 * 9 + 32 * 10 * 10 + 4 * 17 * 17 + 8 * 9 * 9 +
                             16 * 5 * 5 + 32 * 6 * 6;
  REQUIRE(out.at("features").sizes() == torch::IntArrayRef({2, width}));
  // Each layer divided by its size: the first block's maps, over their 4 x 33 x 33 values.
  auto first_block = d->named_children()["scale0_block0"]->as<torch::nn::Sequential>();
  REQUIRE(first_block);
  const auto first = first_block->forward(x).flatten(1) / (4.0 * 33 * 33);
  CHECK(torch::allclose(out.at("features").narrow(1, 0, 4 * 33 * 33), first));
  // Spectral norm on the three norm blocks of each scale, not on the first and last convolutions.
  std::int64_t normalised = 0;
  for (const auto& b : d->named_buffers()) normalised += contains(b.key(), "weight_u");
  CHECK(normalised == 6);
  // Feature matching: nothing between an image and itself, something between two.
  test::TestContext ctx;
  auto fm =
      make_function(test::registered("losses/feature-matching"), test::node_setup("losses/feature-matching"));
  const auto fx = out.at("features"), fy = d->forward({{"image", y}}).at("features");
  CHECK(fm->forward({{"fake", fx}, {"real", fx}}, ctx).at("loss").item<double>() == 0.0);
  const double loss = fm->forward({{"fake", fx}, {"real", fy}}, ctx).at("loss").item<double>();
  CHECK(loss == doctest::Approx((fx - fy).abs().sum(1).mean().item<double>()));
  CHECK(loss > 0);
  // The real side is detached: only the fake side gets a gradient.
  auto a = fx.detach().clone().requires_grad_(true), b = fy.detach().clone().requires_grad_(true);
  fm->forward({{"fake", a}, {"real", b}}, ctx).at("loss").backward();
  CHECK(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("Spade.TheEmojiGraphTakesItsQualityProbe") {
  // bench/spade-quality.sh scores the runs through this probe: held-out emoji turned into label maps
  // and painted, read by the category classifier beside the maps' own colours.
  const std::string graphs = std::string(GANGLION_SOURCE_DIR) + "/graphs/";
  const auto r = test::run_cli({"validate", graphs + "spade-labels2emoji.json", "--include",
                                graphs + "probes/spade-emoji-quality.json"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out, "3 modules"));
}

TEST_CASE("SpadeEncoder.AnImageBecomesACodesGaussian") {
  torch::manual_seed(4);
  const std::map<std::string, ParamValue> small{{"filters", std::int64_t{4}}, {"z_dim", std::int64_t{8}}};
  auto e = make_module(test::registered("nets/spade-encoder"), test::node_setup("nets/spade-encoder", small));
  const auto images = torch::rand({2, 3, 64, 64}) * 2 - 1;
  const auto out = e->forward({{"image", images}});
  CHECK(out.at("mu").sizes() == torch::IntArrayRef({2, 8}));
  CHECK(out.at("logvar").sizes() == torch::IntArrayRef({2, 8}));
  // Each image its own code: the rows differ.
  CHECK((out.at("mu")[0] - out.at("mu")[1]).abs().max().item<double>() > 1e-4);
  CHECK(contains(error_of([&] { e->forward({{"image", torch::zeros({1, 3, 32, 32})}}); }), "param size"));
  CHECK(contains(error_of([&] {
                   make_module(test::registered("nets/spade-encoder"),
                               test::node_setup("nets/spade-encoder", {{"size", std::int64_t{80}}}));
                 }),
                 "multiple of 32"));
  // Spectral norm on its five convolutions only: the linear layers keep plain weights.
  auto plain = make_module(
      test::registered("nets/spade-encoder"),
      test::node_setup("nets/spade-encoder",
                       {{"filters", std::int64_t{4}}, {"z_dim", std::int64_t{8}}, {"spectral_norm", false}}));
  int power_vectors = 0;
  for (const auto& b : e->named_buffers()) power_vectors += contains(b.key(), "weight_u");
  CHECK(power_vectors == 5);
  CHECK(plain->named_buffers().size() == 0);
}

TEST_CASE("Reparameterize.AndTheKlTermKeepCodesNearThePrior") {
  test::TestContext ctx;
  auto draw =
      make_function(test::registered("noise/reparameterize"), test::node_setup("noise/reparameterize"));
  auto kl = make_function(test::registered("losses/kl-divergence"), test::node_setup("losses/kl-divergence"));
  // A Gaussian with almost no variance gives back its mean; a unit one draws with unit spread.
  const auto mu = torch::tensor({{1.0f, -2.0f, 3.0f}});
  CHECK(
      torch::allclose(draw->forward({{"mu", mu}, {"logvar", torch::full({1, 3}, -60.0f)}}, ctx).at("z"), mu));
  const auto wide =
      draw->forward({{"mu", torch::zeros({4000, 2})}, {"logvar", torch::zeros({4000, 2})}}, ctx).at("z");
  CHECK(wide.std().item<double>() == doctest::Approx(1.0).epsilon(0.05));
  CHECK(wide.mean().abs().item<double>() < 0.05);
  // Gradients reach both inputs (the encoder learns through the draw).
  auto m = torch::zeros({2, 3}, torch::requires_grad()), v = torch::zeros({2, 3}, torch::requires_grad());
  draw->forward({{"mu", m}, {"logvar", v}}, ctx).at("z").pow(2).sum().backward();
  CHECK(m.grad().abs().sum().item<double>() > 0);
  CHECK(v.grad().abs().sum().item<double>() > 0);
  // KL of N(0, 1) from itself is 0; a mean of 1 in each of 3 dimensions costs 3 / 2 a row, and a
  // variance of e in one costs (e - 2) / 2.
  CHECK(kl->forward({{"mu", torch::zeros({2, 3})}, {"logvar", torch::zeros({2, 3})}}, ctx)
            .at("loss")
            .item<double>() == doctest::Approx(0.0));
  CHECK(kl->forward({{"mu", torch::ones({2, 3})}, {"logvar", torch::zeros({2, 3})}}, ctx)
            .at("loss")
            .item<double>() == doctest::Approx(1.5));
  CHECK(kl->forward({{"mu", torch::zeros({1, 1})}, {"logvar", torch::ones({1, 1})}}, ctx)
            .at("loss")
            .item<double>() == doctest::Approx((std::exp(1.0) - 2) / 2));
  // A mean and a log-variance of different widths are refused before either node runs (their
  // contracts share B,Z).
  for (const std::string type : {"losses/kl-divergence", "noise/reparameterize"}) {
    NodeRunner runner("{\"type\": \"" + type + "\"}");
    runner.input("mu", torch::zeros({2, 3})).input("logvar", torch::zeros({2, 4}));
    const std::string error = error_of([&] { runner.run(); });
    CHECK_MESSAGE(contains(error, "dimension Z is 4 in input \"logvar\" but 3 in input \"mu\""),
                  type << ": " << error);
  }
}

TEST_CASE("Spade.TheStyleGraphTrainsItsEncoderAndPaintsRandomStyles") {
  const std::string graph = small_spade_graph("spade-labels2emoji-style");
  const auto p = test::run_cli({"plan", graph});
  REQUIRE_MESSAGE(p.exit_code == 0, p.err);
  CHECK(contains(p.out, "updates: G, E"));  // the encoder learns in G's phase, through the KL term too
  const std::string run = test::temp_dir("spade-style-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // Rows: the map, G's painting in its emoji's style, one in a random style, the emoji.
  CHECK(test::png_size(run + "/samples/step-00000002.png") == std::make_pair(4 * 66 + 2, 4 * 66 + 2));
  const std::string in = test::temp_dir("spade-style-in"), out = test::temp_dir("spade-style-out");
  demo_map(in);
  const auto t = test::run_cli({"translate", graph, "--checkpoint", run, "--input", in, "--out", out});
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  CHECK(test::png_size(out + "/smiley.png") == std::make_pair(64, 64));
}
