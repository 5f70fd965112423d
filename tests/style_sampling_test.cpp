// `ganglion sample`'s style tools on a StyleGAN2 graph trained for two iterations: one image per
// seed that repeats, truncation 0 giving the mean style's image for every seed, a style-mixing
// grid of the right shape whose rows keep their coarse styles, interpolation frames, and the
// mistakes (a generator without a split, bad seed lists, layers past the net's).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>

#include "style_sampling.h"
#include "test_support.h"

using namespace ganglion;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// A tiny StyleGAN2 emoji graph trained for 2 iterations: its file and run directory.
const std::pair<std::string, std::string>& trained() {
  static const auto made = [] {
    json g = test::small_stylegan2("stylegan2-emoji-64");
    g["nodes"]["batch"]["params"]["limit"] = 32;
    g["outputs"] = {{"samples", {{"from", "fake.image"}, {"every", 1000}}},
                    {"checkpoint", {{"every", 1000}}},
                    {"log", {{"every", 1}}}};
    const std::string graph = test::write_temp("style-tools.json", g.dump());
    const std::string run = test::temp_dir("style-tools-run");
    const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return std::make_pair(graph, run);
  }();
  return made;
}

test::CliResult sample(std::vector<std::string> args) {
  std::vector<std::string> all{"sample", trained().first, "--checkpoint", trained().second, "--threads", "1"};
  all.insert(all.end(), args.begin(), args.end());
  return test::run_cli(all);
}

/// Width and height from a PNG's IHDR chunk.
std::pair<int, int> png_size(const std::string& file) {
  const std::string bytes = test::read_file(file);
  REQUIRE(bytes.size() > 24);
  const auto be32 = [&](size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  return {static_cast<int>(be32(16)), static_cast<int>(be32(20))};
}

/// What an AVI file's main header says: frames, width, height and microseconds per frame.
struct AviHeader {
  std::uint32_t frames = 0, width = 0, height = 0, us_per_frame = 0;
};

AviHeader avi_header(const std::string& file) {
  const std::string bytes = test::read_file(file);
  REQUIRE(bytes.size() > 64);
  REQUIRE(bytes.substr(0, 4) == "RIFF");
  REQUIRE(bytes.substr(8, 4) == "AVI ");
  const size_t at = bytes.find("avih");
  REQUIRE(at != std::string::npos);
  const auto le32 = [&](size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 3])) << 24;
  };
  const size_t data = at + 8;  // MainAVIHeader
  return {le32(data + 16), le32(data + 32), le32(data + 36), le32(data)};
}

}  // namespace

TEST_CASE("StyleSampling.ASeedGivesOneImageEveryTime") {
  const std::string a = test::temp_dir("seeds-a"), b = test::temp_dir("seeds-b");
  auto r = sample({"--seeds", "0-2", "--out", a});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("wrote 3 images into " + a) != std::string::npos);
  r = sample({"--seeds", "2,0", "--out", b});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(test::read_file(a + "/seed0000.png") == test::read_file(b + "/seed0000.png"));
  CHECK(test::read_file(a + "/seed0002.png") == test::read_file(b + "/seed0002.png"));
  CHECK(test::read_file(a + "/seed0000.png") != test::read_file(a + "/seed0001.png"));
  CHECK(!fs::exists(b + "/seed0001.png"));
  // The folder's name may have a dot: it is no file extension.
  const std::string dotted = test::temp_dir("seeds-c") + "/psi0.7";
  r = sample({"--seeds", "2", "--out", dotted});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(test::read_file(dotted + "/seed0002.png") == test::read_file(a + "/seed0002.png"));
}

TEST_CASE("StyleSampling.TruncationZeroGivesTheAverageImageForEverySeed") {
  const std::string dir = test::temp_dir("psi0");
  auto r = sample({"--seeds", "0-2", "--truncation", "0", "--out", dir});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(test::read_file(dir + "/seed0000.png") == test::read_file(dir + "/seed0001.png"));
  CHECK(test::read_file(dir + "/seed0000.png") == test::read_file(dir + "/seed0002.png"));
  const std::string half = test::temp_dir("psi-half");
  REQUIRE(sample({"--seeds", "0-1", "--truncation", "0.5", "--out", half}).exit_code == 0);
  CHECK(test::read_file(half + "/seed0000.png") != test::read_file(half + "/seed0001.png"));
  CHECK(test::read_file(half + "/seed0000.png") != test::read_file(dir + "/seed0000.png"));
}

TEST_CASE("StyleSampling.AMixingGridHasARowPerSeedAndAColumnPerSource") {
  const std::string out = test::temp_dir("mix") + "/grid.png";
  auto r = sample({"--style-mix", "0-1", "--mix-columns", "2-4", "--mix-layers", "middle", "--out", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // 16x16 images with png-grid's padding 2: 4 columns (the rows' own images first), 3 rows (the
  // columns' images on top).
  CHECK(png_size(out) == std::make_pair(4 * 18 + 2, 3 * 18 + 2));
  CHECK(r.out.find("style layers 4,5 from the columns (of 6)") != std::string::npos);
  CHECK(r.out.find("2 rows x 3 columns") != std::string::npos);
  // Rows keep their coarse styles: only the chosen layers come from the columns.
  const auto w_rows = torch::randn({2, 6, 4}), w_columns = torch::randn({3, 6, 4});
  const auto cells = cli::mix_styles(w_rows, w_columns, cli::parse_style_layers("middle,fine", 6));
  REQUIRE(cells.sizes() == torch::IntArrayRef({6, 6, 4}));
  for (int64_t r2 = 0; r2 < 2; ++r2)
    for (int64_t c = 0; c < 3; ++c) {
      const auto cell = cells[r2 * 3 + c];
      CHECK(torch::equal(cell.slice(0, 0, 4), w_rows[r2].slice(0, 0, 4)));
      CHECK(torch::equal(cell.slice(0, 4), w_columns[c].slice(0, 4)));
    }
  CHECK(cli::parse_style_layers("coarse", 10) == std::set<int64_t>{0, 1, 2, 3});
  CHECK(cli::parse_style_layers("fine", 10) == std::set<int64_t>{8, 9});
  CHECK(cli::parse_style_layers("1-2,middle", 10) == std::set<int64_t>{1, 2, 4, 5, 6, 7});
}

TEST_CASE("StyleSampling.InterpolationWritesFramesThroughTheSeeds") {
  const std::string frames = test::temp_dir("frames"), seeds = test::temp_dir("frame-seeds");
  auto r = sample({"--interpolate", "0,1,2", "--frames", "4", "--out", frames});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("wrote 9 frames") != std::string::npos);
  CHECK(fs::exists(frames + "/frame0008.png"));
  CHECK(!fs::exists(frames + "/frame0009.png"));
  REQUIRE(sample({"--seeds", "0-2", "--out", seeds}).exit_code == 0);
  // Linear in W: the key frames are the seeds' own images.
  CHECK(test::read_file(frames + "/frame0000.png") == test::read_file(seeds + "/seed0000.png"));
  CHECK(test::read_file(frames + "/frame0004.png") == test::read_file(seeds + "/seed0001.png"));
  CHECK(test::read_file(frames + "/frame0001.png") != test::read_file(frames + "/frame0000.png"));
  const std::string z = test::temp_dir("frames-z");
  REQUIRE(sample({"--interpolate", "0,1", "--frames", "2", "--space", "z", "--out", z, "--video", "none"})
              .exit_code == 0);
  CHECK(fs::exists(z + "/frame0002.png"));
  CHECK(!fs::exists(z + ".avi"));
  // --sheet: the same images in one grid too, a row by default or --sheet-columns a row.
  const auto [w, h] = png_size(seeds + "/seed0000.png");  // one image and the grid's padding of 2
  const std::string row = test::temp_dir("sheet") + "/row.png",
                    column = test::temp_dir("sheet") + "/column.png";
  r = sample({"--seeds", "0-2", "--out", test::temp_dir("sheet-seeds"), "--sheet", row});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(png_size(row) == std::make_pair(3 * (w - 4) + 4 * 2, h));
  r = sample({"--interpolate", "0,1", "--frames", "2", "--out", test::temp_dir("sheet-frames"), "--video",
              "none", "--sheet", column, "--sheet-columns", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(png_size(column) == std::make_pair(w, 3 * (h - 4) + 4 * 2));
}

TEST_CASE("StyleSampling.InterpolationFramesMakeAVideo") {
  const std::string frames = test::temp_dir("video-frames");
  auto r = sample({"--interpolate", "0,1,2", "--frames", "4", "--fps", "12", "--out", frames});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  if (r.out.find("no video: the images plugin was built without OpenCV's videoio") != std::string::npos) {
    CHECK(!fs::exists(frames + ".avi"));
    MESSAGE("io/video is not built here (libopencv-videoio-dev): only its absence is tested");
    return;
  }
  CHECK_MESSAGE(r.out.find("wrote " + frames + ".avi (9 frames at 12 fps)") != std::string::npos, r.out);
  const auto header = avi_header(frames + ".avi");
  CHECK(header.frames == 9);
  const auto [w, h] = png_size(frames + "/frame0000.png");  // one image with the grid's padding of 2
  CHECK(header.width == static_cast<std::uint32_t>(w - 4));
  CHECK(header.height == static_cast<std::uint32_t>(h - 4));
  CHECK(header.us_per_frame == 1000000 / 12);
  // Another file name, and one it cannot write: named, exit 2, nothing left behind.
  const std::string named = test::temp_dir("video-named") + "/strip.avi";
  REQUIRE(
      sample({"--interpolate", "0,1", "--frames", "2", "--out", frames + "-2", "--video", named}).exit_code ==
      0);
  CHECK(avi_header(named).frames == 3);
  const std::string nowhere = test::temp_dir("video-nowhere") + "/no/such/folder/x.avi";
  r = sample({"--interpolate", "0,1", "--frames", "2", "--out", frames + "-3", "--video", nowhere});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find(nowhere) != std::string::npos, r.err);
  CHECK(!fs::exists(nowhere));
  CHECK(!fs::exists(nowhere + ".tmp"));
}

TEST_CASE("StyleSampling.MistakesAreNamed") {
  auto r = sample({"--seeds", "5-2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--seeds 5-2: expected whole numbers and ranges") != std::string::npos);
  r = sample({"--style-mix", "0", "--mix-columns", "1", "--mix-layers", "12"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("layer 12 is past the generator's 6 style layers") != std::string::npos);
  r = sample({"--style-mix", "0"});
  CHECK(r.err.find("needs --mix-columns") != std::string::npos);
  r = sample({"--seeds", "0", "--truncation", "3"});
  CHECK(r.err.find("--truncation 3: expected a number from 0 to 2") != std::string::npos);
  r = sample({"--seeds", "0", "--interpolate", "0,1"});
  CHECK(r.err.find("give one") != std::string::npos);
  r = sample({"--style-mix", "0", "--mix-columns", "1", "--sheet", "x.png"});
  CHECK(r.err.find("--sheet is for --seeds and --interpolate") != std::string::npos);
  r = sample({"--seeds", "0", "--sheet-columns", "2"});
  CHECK(r.err.find("--sheet-columns sets the rows of a --sheet FILE") != std::string::npos);
  // A count that is not whole is refused before any file is written, not cut down.
  const std::string unwritten = test::temp_dir("seeds-unwritten");
  r = sample(
      {"--seeds", "0-1", "--out", unwritten, "--sheet", unwritten + "/sheet.png", "--sheet-columns", "1.5"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--sheet-columns 1.5: expected a whole number from 1 to 100000") != std::string::npos);
  CHECK(fs::is_empty(unwritten));
  r = sample({"--interpolate", "0,1", "--frames", "2.5"});
  CHECK(r.err.find("--frames 2.5: expected a whole number") != std::string::npos);
  r = sample({"--frames", "4"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--frames goes with --seeds, --style-mix or --interpolate") != std::string::npos);
  // A generator without a mapping/synthesis split: seeds work, truncation does not.
  REQUIRE(test::mnist_available());
  json g = test::shipped_graph("dcgan-mnist");
  g.erase("$schema");
  g["nodes"]["batch"]["params"]["limit"] = 64;
  g["nodes"]["batch"]["params"]["batch"] = 16;
  const std::string graph = test::write_temp("dcgan-seeds.json", g.dump());
  const std::string run = test::temp_dir("dcgan-seeds-run");
  REQUIRE(test::run_cli({"run", graph, "--out", run, "--steps", "1", "--threads", "1"}).exit_code == 0);
  const std::string out = test::temp_dir("dcgan-seeds");
  r = test::run_cli({"sample", graph, "--checkpoint", run, "--seeds", "0-1", "--out", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(fs::exists(out + "/seed0001.png"));
  r = test::run_cli({"sample", graph, "--checkpoint", run, "--seeds", "0", "--truncation", "0.7"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--truncation needs a generator whose contract declares a mapping/synthesis split") !=
        std::string::npos);
  CHECK(r.err.find("nets/dcgan-generator declares none") != std::string::npos);
}
