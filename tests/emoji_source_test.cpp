// data/emoji on the emoji-datasource images (scripts/fetch-data.sh puts them in data-cache/emoji):
// categories and styles as labels, alpha composited onto the background colour, and the errors a
// damaged or missing index gives, each naming the file.
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

std::shared_ptr<Source> emoji(std::map<std::string, ParamValue> params) {
  if (!params.count("folder")) params["folder"] = kEmoji;
  if (!params.count("shuffle")) params["shuffle"] = false;
  return make_source(test::registered("data/emoji"), test::node_setup("data/emoji", params, 4));
}

using test::contains;

/// A folder with `index` as emoji.json and one real image copied as a.png for style twitter.
std::string fake_folder(const std::string& name, const std::string& index) {
  const std::string dir = test::temp_dir(name);
  fs::create_directories(dir + "/img/twitter/64");
  fs::copy_file(kEmoji + "/img/twitter/64/1f600.png", dir + "/img/twitter/64/a.png");
  std::ofstream(dir + "/emoji.json") << index;
  return dir;
}

}  // namespace

TEST_CASE("Emoji.EveryEmojiOfAStyleWithItsCategory") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  test::TestContext ctx;
  auto all = emoji({{"batch", std::int64_t{1911}}, {"size", std::int64_t{32}}});
  const auto out = all->next({}, ctx);
  CHECK(out.at("image").sizes() == torch::IntArrayRef({1911, 3, 32, 32}));
  CHECK(out.at("image").min().item<double>() >= -1.0);
  CHECK(out.at("image").max().item<double>() <= 1.0);
  const auto counts = torch::bincount(out.at("label"));
  REQUIRE(counts.size(0) == 10);            // the ten categories of emoji-datasource 16.0.0
  CHECK(counts[0].item<int64_t>() == 169);  // Smileys & Emotion comes first
  CHECK(counts[9].item<int64_t>() == 270);  // Flags last
  CHECK(out.at("style").max().item<int64_t>() == 0);
  // Two styles: an image per style that draws the emoji (Facebook draws 1860 of them).
  auto two = emoji({{"styles", std::string("twitter, facebook")}, {"batch", std::int64_t{64}}});
  auto styles = two->next({}, ctx).at("style");
  CHECK(styles.max().item<int64_t>() == 1);
  CHECK(test::error_of([&] {
          emoji({{"styles", std::string("twitter,facebook")}, {"batch", std::int64_t{3772}}});
        }).find("larger than the 3771") != std::string::npos);
  // Skin tones add the variants; a category filter renumbers the labels from 0.
  CHECK(error_of([&] {
          emoji({{"skin_tones", true}, {"batch", std::int64_t{3787}}});
        }).find("3786") != std::string::npos);
  auto animals = emoji({{"categories", std::string("Animals & Nature,Flags")}, {"batch", std::int64_t{429}}});
  CHECK(torch::equal(torch::bincount(animals->next({}, ctx).at("label")), torch::tensor({159, 270})));
}

TEST_CASE("Emoji.HeldOutSplitKeepsEachEmojiOnOneSide") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  // Five emoji of categories A..E: with test_every 2 the test side is emoji 0, 2 and 4, in every
  // style and skin tone; train the others.
  const auto folder = fake_folder("emoji-split", R"([
    {"image": "a.png", "category": "A", "has_img_twitter": true,
     "skin_variations": {"1F3FB": {"image": "a.png", "has_img_twitter": true}}},
    {"image": "a.png", "category": "B", "has_img_twitter": true},
    {"image": "a.png", "category": "C", "has_img_twitter": true},
    {"image": "a.png", "category": "D", "has_img_twitter": true},
    {"image": "a.png", "category": "E", "has_img_twitter": true}])");
  test::TestContext ctx;
  const auto labels = [&](const std::string& split, int64_t rows) {
    return emoji({{"folder", folder},
                  {"split", split},
                  {"test_every", std::int64_t{2}},
                  {"skin_tones", true},
                  {"batch", rows}})
        ->next({}, ctx)
        .at("label");
  };
  CHECK(torch::equal(labels("test", 4), torch::tensor({0, 0, 2, 4})));
  CHECK(torch::equal(labels("train", 2), torch::tensor({1, 3})));
  CHECK(contains(error_of([&] { labels("train", 3); }), "larger than the 2"));
  // On the real index: the two sides make the whole, a tenth held out by default.
  auto all = emoji({{"batch", std::int64_t{1911}}, {"size", std::int64_t{4}}})->next({}, ctx).at("label");
  auto test = emoji({{"split", std::string("test")}, {"batch", std::int64_t{192}}, {"size", std::int64_t{4}}})
                  ->next({}, ctx)
                  .at("label");
  auto train =
      emoji({{"split", std::string("train")}, {"batch", std::int64_t{1719}}, {"size", std::int64_t{4}}})
          ->next({}, ctx)
          .at("label");
  CHECK(torch::equal(torch::bincount(torch::cat({test, train}), {}, 10), torch::bincount(all, {}, 10)));
  CHECK(contains(error_of([] {
                   emoji({{"split", std::string("test")}, {"batch", std::int64_t{193}}});
                 }),
                 "larger than the 192"));
  CHECK(contains(error_of([] {
                   emoji({{"split", std::string("held-out")}});
                 }),
                 "param split is \"held-out\": use all, train or test"));
}

TEST_CASE("Emoji.TransparencyShowsTheBackground") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  test::TestContext ctx;
  for (const char* style : {"twitter", "google"}) {  // Twemoji's PNGs are palette images, Noto's RGBA
    CAPTURE(style);
    // Faces: round, with transparent corners (the first emoji, keycaps, are opaque squares).
    const std::map<std::string, ParamValue> faces{{"styles", std::string(style)},
                                                  {"categories", std::string("Smileys & Emotion")},
                                                  {"batch", std::int64_t{4}}};
    auto on_black = faces;
    on_black["background"] = std::string("black");
    const auto white = emoji(faces)->next({}, ctx).at("image");
    const auto black = emoji(on_black)->next({}, ctx).at("image");
    // The corners are transparent: the background itself. Opaque pixels do not change.
    CHECK(white.select(2, 0).select(2, 0).min().item<double>() == doctest::Approx(1.0));
    CHECK(black.select(2, 0).select(2, 0).max().item<double>() == doctest::Approx(-1.0));
    const auto same = (white - black).abs().lt(1e-4).to(torch::kFloat).mean().item<double>();
    CHECK(same > 0.1);  // the drawing
    CHECK(same < 0.9);  // and around it
    auto on_red = faces;
    on_red["background"] = std::string("#ff0000");
    const auto red = emoji(on_red)->next({}, ctx).at("image");
    CHECK(red[0][0][0][0].item<double>() == doctest::Approx(1.0));
    CHECK(red[0][1][0][0].item<double>() == doctest::Approx(-1.0));
  }
}

TEST_CASE("Emoji.MistakesAndDamagedFilesAreNamed") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  CHECK(contains(error_of([] { emoji({{"styles", std::string("twiter")}}); }), "unknown style \"twiter\""));
  CHECK(contains(error_of([] {
                   emoji({{"categories", std::string("Fish")}});
                 }),
                 "no emoji of category \"Fish\""));
  CHECK(contains(error_of([] { emoji({{"background", std::string("#12345")}}); }), "#rrggbb"));
  const std::string empty = test::temp_dir("emoji-none");
  CHECK(contains(error_of([&] { emoji({{"folder", empty}}); }), "scripts/fetch-data.sh"));
  const auto broken = fake_folder("emoji-broken", "[{\"image\": \"a.png\", ");
  CHECK(contains(error_of([&] { emoji({{"folder", broken}}); }), broken + "/emoji.json: not JSON"));
  const auto no_category = fake_folder("emoji-nocat", R"([{"image": "a.png", "has_img_twitter": true}])");
  CHECK(contains(error_of([&] { emoji({{"folder", no_category}}); }), "/0: no \"category\" string"));
  const auto missing =
      fake_folder("emoji-missing", R"([{"image": "b.png", "category": "X", "has_img_twitter": true}])");
  CHECK(contains(error_of([&] { emoji({{"folder", missing}}); }), "img/twitter/64/b.png"));
  const auto escape =
      fake_folder("emoji-escape", R"([{"image": "../../x.png", "category": "X", "has_img_twitter": true}])");
  CHECK(contains(error_of([&] { emoji({{"folder", escape}}); }), "is not a file name"));
  const auto good =
      fake_folder("emoji-one", R"([{"image": "a.png", "category": "X", "has_img_twitter": true}])");
  test::TestContext ctx;
  CHECK(emoji({{"folder", good}, {"batch", std::int64_t{1}}})->next({}, ctx).at("image").size(0) == 1);
  // A file that is not an image fails the draw with its name.
  std::ofstream(good + "/img/twitter/64/a.png", std::ios::trunc) << "not a png";
  CHECK(contains(error_of([&] {
                   emoji({{"folder", good}, {"batch", std::int64_t{1}}})->next({}, ctx);
                 }),
                 "a.png: does not decode"));
}

TEST_CASE("Emoji.TheThreeEmojiGraphsTakeTheQualityProbe") {
  // bench/emoji-compare.sh scores DCGAN, Progressive GAN and StyleGAN2 through one probe.
  const std::string graphs = std::string(GANGLION_SOURCE_DIR) + "/graphs/";
  const std::string probe = graphs + "probes/emoji-quality.json";
  for (const char* stem : {"dcgan-emoji-64", "progan-emoji-64", "stylegan2-emoji-64"}) {
    CAPTURE(stem);
    std::vector<std::string> args{"validate", graphs + stem + ".json", "--include", probe};
    if (std::string(stem) == "stylegan2-emoji-64")
      args.insert(args.end(), {"--set", "nodes.probe_fake.in.image=fake.image"});
    const auto r = test::run_cli(args);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("3 modules") != std::string::npos);
  }
  // Without naming the image port, the StyleGAN2 generator's two outputs are refused by name.
  const auto r = test::run_cli({"validate", graphs + "stylegan2-emoji-64.json", "--include", probe});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("has several outputs (image, w)") != std::string::npos);
  // The yardstick's graph holds out a tenth of the emoji and trains on the rest.
  const auto c = test::run_cli({"validate", graphs + "classifier-emoji.json"});
  CHECK_MESSAGE(c.exit_code == 0, c.err);
}

TEST_CASE("Emoji.DcganGraphTrainsOnASlice") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  auto g = test::shipped_graph("dcgan-emoji-64");
  g.erase("$schema");
  g["nodes"]["batch"]["params"]["limit"] = 32;
  g["nodes"]["batch"]["params"]["batch"] = 8;
  const std::string graph = test::write_temp("dcgan-emoji.json", g.dump());
  const std::string run = test::temp_dir("dcgan-emoji-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(fs::exists(run + "/samples/step-00000002.png"));
  CHECK(fs::exists(run + "/checkpoints/step-00000002.pt"));
}
