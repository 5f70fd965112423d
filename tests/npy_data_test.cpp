// data/npy and its reader: element types, byte orders and memory orders read back exactly; the
// source's layouts, scaling, row slices, labels that stay with their images, flips that repeat,
// and errors that name the file; then the real LFW subset that scripts/fetch-data.sh unpacks.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <set>

#include "data/npy_file.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;
using test::error_of;

namespace {

// Writes an NPY version 1.0 file: the header dict padded so the data starts on 64 bytes.
std::string write_npy(const std::string& name, const std::string& descr, const std::vector<int64_t>& shape,
                      const void* data, size_t bytes, bool fortran = false) {
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    shape_text += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  shape_text += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape_text + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  static const std::string dir = test::temp_dir("npy");  // made (emptied) once per run
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out << header;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  return path;
}

std::string write_tensor(const std::string& name, const std::string& descr, const torch::Tensor& t) {
  auto c = t.contiguous();
  return write_npy(name, descr, c.sizes().vec(), c.data_ptr(), c.numel() * c.element_size());
}

std::shared_ptr<Source> npy_source(const std::map<std::string, ParamValue>& params, std::uint64_t seed = 3) {
  return make_source(test::registered("data/npy"), test::node_setup("data/npy", params, seed));
}

}  // namespace

TEST_CASE("Npy.ReadsTypesByteOrdersAndFortranOrder") {
  const auto f64 = torch::rand({3, 4, 5}, torch::kDouble);
  CHECK(torch::equal(data::read_npy(write_tensor("f64.npy", "<f8", f64)), f64));
  const auto u8 = torch::randint(0, 256, {2, 3, 3, 3}, torch::kByte);
  CHECK(torch::equal(data::read_npy(write_tensor("u8.npy", "|u1", u8)), u8));
  const auto i64 = torch::arange(-5, 5, torch::kLong);
  CHECK(torch::equal(data::read_npy(write_tensor("i64.npy", "<i8", i64)), i64));

  // Big-endian floats: the bytes of each element reversed.
  auto f32 = torch::randn({6}, torch::kFloat);
  std::vector<char> swapped(24);
  std::memcpy(swapped.data(), f32.data_ptr(), 24);
  for (int i = 0; i < 6; ++i) std::reverse(swapped.begin() + 4 * i, swapped.begin() + 4 * i + 4);
  CHECK(torch::equal(data::read_npy(write_npy("be.npy", ">f4", {6}, swapped.data(), 24)), f32));

  // Fortran order stores the transpose.
  const auto m = torch::arange(6, torch::kInt).reshape({2, 3});
  const auto mt = m.t().contiguous();
  CHECK(torch::equal(data::read_npy(write_npy("f.npy", "<i4", {2, 3}, mt.data_ptr(), 24, true)), m));

  // uint16 above 32767 is not read as negative.
  const std::vector<std::uint16_t> u16 = {0, 1, 40000, 65535};
  CHECK(torch::equal(data::read_npy(write_npy("u16.npy", "<u2", {4}, u16.data(), 8)),
                     torch::tensor({0, 1, 40000, 65535}, torch::kLong)));
}

TEST_CASE("Npy.ErrorsNameTheFileAndTheFix") {
  const std::string dir = test::temp_dir("npy-bad");
  { std::ofstream(dir + "/text.npy") << "not numpy"; }
  CHECK(error_of([&] { data::read_npy(dir + "/text.npy"); }) ==
        dir + "/text.npy: not an NPY file (it does not start with \\x93NUMPY)");
  CHECK(error_of([&] { data::read_npy(dir + "/missing.npy"); }) == dir + "/missing.npy: cannot open");
  const std::vector<float> few(5);
  const auto truncated = write_npy("short.npy", "<f4", {2, 3}, few.data(), 20);
  CHECK(error_of([&] { data::read_npy(truncated); }).find(truncated + ": data ends early") == 0);
  const auto huge = write_npy("huge.npy", "<f4", {int64_t(1) << 35, int64_t(1) << 35}, few.data(), 20);
  CHECK(error_of([&] { data::read_npy(huge); }).find("is implausibly large") != std::string::npos);
  const auto complex = write_npy("c.npy", "<c8", {1}, few.data(), 8);
  CHECK(error_of([&] { data::read_npy(complex); }).find("element type '<c8' is not one Ganglion reads") !=
        std::string::npos);

  const auto images = write_tensor("imgs.npy", "<f8", torch::rand({10, 8, 8}, torch::kDouble));
  const auto labels = write_tensor("labels.npy", "<i8", torch::arange(9, torch::kLong));
  CHECK(error_of([&] {
          npy_source({{"array", images}, {"labels", labels}, {"batch", std::int64_t{2}}});
        }) == labels + ": has 9 labels for 10 images in " + images);
  CHECK(error_of([&] {
          npy_source({{"array", images}, {"rows", std::string("5:20")}, {"batch", std::int64_t{2}}});
        }).find("param rows is \"5:20\" but the array has 10 rows") == 0);
  CHECK(error_of([&] {
          npy_source({{"array", images}, {"layout", std::string("nhwc")}, {"batch", std::int64_t{2}}});
        }) == images + ": layout nhwc needs 4 dimensions, the array has shape (10,8,8)");
  const auto wide = write_tensor("wide.npy", "<f8", torch::rand({10, 8, 8}, torch::kDouble) * 300);
  CHECK(error_of([&] {
          npy_source({{"array", wide}, {"batch", std::int64_t{2}}});
        }).find("say which become -1 and 1 with param scale") != std::string::npos);
  const auto shorts = write_tensor("i16.npy", "<i2", torch::zeros({10, 8, 8}, torch::kShort));
  CHECK(error_of([&] {
          npy_source({{"array", shorts}, {"batch", std::int64_t{2}}});
        }).find("param scale auto knows uint8 and float arrays") != std::string::npos);
  CHECK(error_of([&] {
          npy_source({{"array", images}, {"scale", std::string("1,0")}, {"batch", std::int64_t{2}}});
        }).find("use auto or LOW,HIGH with LOW < HIGH") != std::string::npos);
}

TEST_CASE("Npy.SourceScalesSlicesAndKeepsLabelsWithImages") {
  // Image i (NHWC, uint8) is filled with the value 10 * i; its label is i % 7.
  const int64_t n = 20;
  auto values = (torch::arange(n, torch::kLong) * 10).to(torch::kByte);
  const auto images = write_tensor("rgb.npy", "|u1", values.view({n, 1, 1, 1}).expand({n, 6, 5, 3}));
  const auto labels = write_tensor("l.npy", "<i8", torch::arange(n, torch::kLong) % 7);
  auto source = npy_source(
      {{"array", images}, {"labels", labels}, {"rows", std::string("4:16")}, {"batch", std::int64_t{5}}});
  test::TestContext ctx;
  std::set<int64_t> seen;
  for (int b = 0; b < 2; ++b) {
    auto out = source->next({}, ctx);
    const auto image = out.at("image"), label = out.at("label");
    REQUIRE(image.sizes().vec() == std::vector<int64_t>{5, 3, 6, 5});  // NHWC read as NCHW
    for (int64_t i = 0; i < 5; ++i) {
      // Stored 0..255 becomes -1..1; every pixel of an image holds its own value.
      const double v = image[i].mean().item<double>();
      const int64_t index = std::lround((v + 1) * 127.5 / 10);
      CHECK(image[i].max().item<double>() == doctest::Approx(v));
      CHECK(index >= 4);
      CHECK(index < 16);
      CHECK(label[i].item<int64_t>() == index % 7);
      seen.insert(index);
    }
  }
  CHECK(seen.size() == 10);  // two batches of an epoch: no image twice

  // `scale: auto` looks at the whole array, not the slice: a slice within [0, 1] of an array
  // within [-1, 1] keeps its values.
  auto signed_rows =
      torch::cat({torch::full({5, 4, 4}, 0.5, torch::kDouble), torch::full({5, 4, 4}, -0.5, torch::kDouble)});
  const auto halves = write_tensor("halves.npy", "<f8", signed_rows);
  auto first = npy_source({{"array", halves}, {"rows", std::string("0:5")}, {"batch", std::int64_t{5}}})
                   ->next({}, ctx);
  CHECK(first.at("image").max().item<double>() == doctest::Approx(0.5));

  // Resizing, and flips that are the same for the same seed and position.
  auto ramp = torch::arange(8, torch::kDouble).div(7).view({1, 1, 8}).expand({4, 8, 8}).contiguous();
  const auto ramps = write_tensor("ramp.npy", "<f8", ramp);
  auto resized =
      npy_source({{"array", ramps}, {"size", std::int64_t{16}}, {"batch", std::int64_t{4}}})->next({}, ctx);
  CHECK(resized.at("image").sizes().vec() == std::vector<int64_t>{4, 1, 16, 16});
  const auto flipped = [&](std::uint64_t seed) {
    auto s =
        npy_source({{"array", ramps}, {"flip", true}, {"batch", std::int64_t{4}}, {"shuffle", false}}, seed);
    auto img = s->next({}, ctx).at("image");
    // A flipped ramp falls from left to right.
    return (img.select(3, 0).mean({1, 2}) > img.select(3, 7).mean({1, 2})).to(torch::kLong);
  };
  CHECK(torch::equal(flipped(11), flipped(11)));
  const auto many = torch::stack({flipped(1), flipped(2), flipped(3), flipped(4)});
  CHECK(many.sum().item<int64_t>() > 0);             // some images flipped
  CHECK(many.sum().item<int64_t>() < many.numel());  // and some not
}

TEST_CASE("Npy.LfwSubsetFaces") {
  const std::string lfw = data_folder() + "/lfw/lfw_subset.npy";
  const auto array = data::read_npy(lfw);
  REQUIRE(array.sizes().vec() == std::vector<int64_t>{200, 25, 25});
  CHECK((array.scalar_type() == torch::kDouble));
  CHECK(array.min().item<double>() >= 0);
  CHECK(array.max().item<double>() <= 1);
  test::TestContext ctx;
  auto faces = npy_source({{"array", lfw},
                           {"rows", std::string("0:100")},
                           {"size", std::int64_t{32}},
                           {"batch", std::int64_t{50}}})
                   ->next({}, ctx)
                   .at("image");
  CHECK(faces.sizes().vec() == std::vector<int64_t>{50, 1, 32, 32});
  CHECK(faces.min().item<double>() >= -1);
  CHECK(faces.max().item<double>() <= 1);
  CHECK(faces.std().item<double>() > 0.2);  // images, not a constant
}
