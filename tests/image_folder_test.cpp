// data/image-folder on the dlib example faces (scripts/fetch-data.sh copies them): shapes, ranges,
// labels from folders and from a CSV, augmentation that repeats on resume, and errors that name
// the file.
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

const std::string kFaces = data_folder() + "/dlib-faces";

std::shared_ptr<Source> folder_source(std::map<std::string, ParamValue> params) {
  // The images plugin is built only with OpenCV (scripts/setup.sh installs it).
  if (!params.count("folder")) params["folder"] = kFaces;
  return make_source(test::registered("data/image-folder"), test::node_setup("data/image-folder", params, 9));
}

}  // namespace

TEST_CASE("ImageFolder.DecodesResizesAndLabelsByFolder") {
  REQUIRE(fs::is_directory(kFaces));
  test::TestContext ctx;
  auto source = folder_source({{"labels", std::string("folders")},
                               {"size", std::int64_t{32}},
                               {"batch", std::int64_t{55}},
                               {"shuffle", false}});
  const auto out = source->next({}, ctx);
  const auto& image = out.at("image");
  CHECK(image.sizes() == torch::IntArrayRef({55, 3, 32, 32}));
  CHECK(image.min().item<double>() >= -1.0);
  CHECK(image.max().item<double>() <= 1.0);
  CHECK(image.std().item<double>() > 0.1);  // real pictures, not a constant
  // Five people, eleven photos each, in sorted folder order.
  CHECK(torch::equal(torch::bincount(out.at("label")), torch::full({5}, 11, torch::kLong)));
  CHECK(out.at("label")[0].item<int64_t>() == 0);
  CHECK(out.at("label")[54].item<int64_t>() == 4);
  // Colour survives: the channels differ (a grayscale decode would make them equal).
  CHECK(!torch::allclose(image.select(1, 0), image.select(1, 2)));
  auto gray =
      folder_source({{"channels", std::int64_t{1}}, {"size", std::int64_t{16}}, {"batch", std::int64_t{4}}});
  CHECK(gray->next({}, ctx).at("image").sizes() == torch::IntArrayRef({4, 1, 16, 16}));
}

TEST_CASE("ImageFolder.AugmentationRepeatsOnResumeWhateverTheThreads") {
  REQUIRE(fs::is_directory(kFaces));
  test::TestContext ctx;
  const std::map<std::string, ParamValue> params{{"size", std::int64_t{24}},
                                                 {"resize", std::int64_t{32}},
                                                 {"crop", std::string("random")},
                                                 {"flip", true},
                                                 {"batch", std::int64_t{8}}};
  auto a = folder_source(params);
  auto more_threads = params;
  more_threads["threads"] = std::int64_t{3};
  auto b = folder_source(more_threads);
  a->next({}, ctx);
  b->next({}, ctx);
  const std::string position = a->position();
  const auto second = a->next({}, ctx).at("image");
  CHECK(torch::equal(second, b->next({}, ctx).at("image")));
  auto resumed = folder_source(params);
  resumed->seek(position);
  CHECK(torch::equal(resumed->next({}, ctx).at("image"), second));
  // Random crops and flips do change the pictures: the same files with centre crops differ.
  auto centre = params;
  centre["crop"] = std::string("centre");
  centre["flip"] = false;
  auto plain = folder_source(centre);
  plain->next({}, ctx);
  CHECK(!torch::equal(plain->next({}, ctx).at("image"), second));
}

TEST_CASE("ImageFolder.RepeatReadsOneImageAsManyCrops") {
  // One painting, 8 times an epoch, each time its own random crop: CycleGAN's Van Gogh side.
  const std::string dir = test::temp_dir("repeat-one");
  fs::copy_file(kFaces + "/John_Salley/000179_02159509.jpg", dir + "/painting.jpg");
  test::TestContext ctx;
  const std::map<std::string, ParamValue> params{{"folder", dir},
                                                 {"size", std::int64_t{32}},
                                                 {"resize", std::int64_t{96}},
                                                 {"crop", std::string("random")},
                                                 {"repeat", std::int64_t{8}},
                                                 {"batch", std::int64_t{8}}};
  const auto crops = folder_source(params)->next({}, ctx).at("image");
  REQUIRE(crops.size(0) == 8);
  for (int64_t i = 1; i < 8; ++i) CHECK_FALSE(torch::equal(crops[0], crops[i]));
  auto nine = params;
  nine["batch"] = std::int64_t{9};
  CHECK(test::error_of([&] { folder_source(nine); }).find("larger than the 8") != std::string::npos);
  // limit counts files, before repeating: two of the five people's first images, three times.
  auto limited = params;
  limited["folder"] = kFaces;
  limited["limit"] = std::int64_t{2};
  limited["repeat"] = std::int64_t{3};
  limited["batch"] = std::int64_t{6};
  CHECK(folder_source(limited)->next({}, ctx).at("image").size(0) == 6);
  limited["batch"] = std::int64_t{7};
  CHECK(test::error_of([&] { folder_source(limited); }).find("larger than the 6") != std::string::npos);
}

TEST_CASE("ImageFolder.LabelsFromCsv") {
  REQUIRE(fs::is_directory(kFaces));
  const std::string dir = test::temp_dir("image-folder-csv");
  fs::copy_file(kFaces + "/John_Savage/000296_01099007.jpg", dir + "/a.jpg");
  fs::copy_file(
      kFaces + "/John_Simm/" + fs::directory_iterator(kFaces + "/John_Simm")->path().filename().string(),
      dir + "/b.jpg");
  {
    std::ofstream csv(dir + "/labels.csv");
    csv << "file,label\n# comment\nb.jpg, smiling\na.jpg,frowning\n";
  }
  test::TestContext ctx;
  auto source = folder_source({{"folder", dir},
                               {"labels", dir + "/labels.csv"},
                               {"batch", std::int64_t{2}},
                               {"shuffle", false},
                               {"size", std::int64_t{8}}});
  // Names become indices in sorted order: frowning 0, smiling 1; rows follow the CSV.
  CHECK(torch::equal(source->next({}, ctx).at("label"), torch::tensor({1, 0})));
  {
    std::ofstream csv(dir + "/bad.csv");
    csv << "a.jpg,0\nmissing.jpg,1\n";
  }
  CHECK(error_of([&] {
          folder_source({{"folder", dir}, {"labels", dir + "/bad.csv"}, {"batch", std::int64_t{1}}});
        }).find("bad.csv:2: no file") != std::string::npos);
}

TEST_CASE("ImageFolder.ErrorsNameTheFile") {
  REQUIRE(fs::is_directory(kFaces));
  const std::string dir = test::temp_dir("image-folder-bad");
  fs::copy_file(kFaces + "/John_Savage/000296_01099007.jpg", dir + "/good.jpg");
  {
    std::ofstream broken(dir + "/broken.jpg");
    broken << "this is not a JPEG";
  }
  test::TestContext ctx;
  auto source = folder_source({{"folder", dir}, {"batch", std::int64_t{2}}, {"shuffle", false}});
  CHECK(error_of([&] { source->next({}, ctx); }).find(dir + "/broken.jpg: does not decode") !=
        std::string::npos);

  const std::string empty = test::temp_dir("image-folder-empty");
  CHECK(error_of([&] {
          folder_source({{"folder", empty}});
        }).find("holds no image files") != std::string::npos);
  CHECK(error_of([&] {
          folder_source({{"folder", dir}, {"labels", std::string("folders")}, {"batch", std::int64_t{1}}});
        }).find("is not in a sub-folder") != std::string::npos);
  CHECK(error_of([&] {
          folder_source({{"crop", std::string("middle")}});
        }).find("use centre or random") != std::string::npos);
  CHECK(error_of([&] {
          folder_source({{"size", std::int64_t{64}}, {"resize", std::int64_t{32}}});
        }).find("the crop would not fit") != std::string::npos);
}

TEST_CASE("Nets.DcganAt32And128") {
  // The faces graphs use 32 and 64; 128 is one more doubling on each side.
  for (std::int64_t res : {32, 128}) {
    CAPTURE(res);
    NodeSetup g, d;
    const auto& registry = test::builtin_registry();
    g.params = defaults_of(registry.find("nets/dcgan-generator")->contract, {{"z_dim", std::int64_t{8}},
                                                                             {"width", std::int64_t{4}},
                                                                             {"channels", std::int64_t{3}},
                                                                             {"resolution", res}});
    d.params = defaults_of(registry.find("nets/dcgan-discriminator")->contract,
                           {{"width", std::int64_t{4}}, {"channels", std::int64_t{3}}, {"resolution", res}});
    auto gen = make_module(*registry.find("nets/dcgan-generator"), g);
    auto dis = make_module(*registry.find("nets/dcgan-discriminator"), d);
    const auto image = gen->forward({{"z", torch::randn({2, 8})}}).at("image");
    CHECK(image.sizes() == torch::IntArrayRef({2, 3, res, res}));
    CHECK(dis->forward({{"image", image}}).at("score").sizes() == torch::IntArrayRef({2}));
  }
}

TEST_CASE("ImageFolder.FacesGraphTakesItsQualityProbe") {
  // bench/quality.sh measures both face graphs through graphs/probes/dlib-faces-quality.json.
  const std::string graphs = std::string(GANGLION_SOURCE_DIR) + "/graphs/";
  for (const char* stem : {"dcgan-faces-32", "dcgan-faces-64"}) {
    CAPTURE(stem);
    const auto r = test::run_cli(
        {"validate", graphs + stem + ".json", "--include", graphs + "probes/dlib-faces-quality.json"});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("3 modules") != std::string::npos);
  }
}
