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

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

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
