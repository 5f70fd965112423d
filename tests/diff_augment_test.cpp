// augment/diffaugment through the node runner: each augmentation against what it must do to an
// image (a whole-pixel shift with zeros coming in, a zeroed square, colour that keeps gradients),
// none while sampling, the same draw from the same node seed, and a policy it does not know.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "test_support.h"

using namespace ganglion;

namespace {

std::string entry(const std::string& params) {
  return R"({"type": "augment/diffaugment", "params": {)" + params + "}}";
}

/// x shifted by (dy, dx) whole pixels, zeros coming in.
torch::Tensor shifted(const torch::Tensor& x, int64_t dy, int64_t dx) {
  const int64_t h = x.size(1), w = x.size(2);
  auto out = torch::zeros_like(x);
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c) {
      const int64_t sr = r + dy, sc = c + dx;
      if (sr >= 0 && sr < h && sc >= 0 && sc < w)
        out.select(1, r).select(1, c).copy_(x.select(1, sr).select(1, sc));
    }
  return out;
}

}  // namespace

TEST_CASE("DiffAugment.TranslationShiftsEachImageByWholePixels") {
  NodeRunner aug(entry(R"("policy": "translation", "translation_ratio": 0.25)"));
  const auto x = torch::rand({6, 2, 8, 8}) + 1;  // no zeros of its own
  const auto y = aug.input("image", x).run().at("image");
  int moved = 0;
  for (int64_t b = 0; b < 6; ++b) {
    bool found = false;
    for (int64_t dy = -2; dy <= 2 && !found; ++dy)
      for (int64_t dx = -2; dx <= 2 && !found; ++dx)
        if (torch::equal(y[b], shifted(x[b], dy, dx))) {
          found = true;
          moved += dy != 0 || dx != 0;
        }
    CHECK_MESSAGE(found, "image " << b << " is not a shift of at most 2 pixels");
  }
  CHECK(moved > 0);
}

TEST_CASE("DiffAugment.CutoutZerosOneSquare") {
  NodeRunner aug(entry(R"("policy": "cutout", "cutout_ratio": 0.5)"));
  const auto x = torch::rand({8, 3, 8, 8}) + 1;
  const auto y = aug.input("image", x).run().at("image");
  for (int64_t b = 0; b < 8; ++b) {
    const auto zero = y[b][0].eq(0);
    // The channels agree, the rest is the input, and the zeros are one rectangle of at most 4x4.
    CHECK(torch::equal(y[b][1].eq(0), zero));
    CHECK(torch::equal(y[b].masked_select(zero.logical_not().expand({3, 8, 8})),
                       x[b].masked_select(zero.logical_not().expand({3, 8, 8}))));
    const auto rows = zero.any(1).sum().item<int64_t>(), cols = zero.any(0).sum().item<int64_t>();
    CHECK(rows <= 4);
    CHECK(cols <= 4);
    CHECK(zero.sum().item<int64_t>() == rows * cols);
  }
  CHECK(y.eq(0).sum().item<int64_t>() > 0);
}

TEST_CASE("DiffAugment.ColourIsDifferentiableAndNothingChangesWhileSampling") {
  NodeRunner aug(entry(R"("policy": "color,translation,cutout")"));
  auto x = torch::randn({4, 3, 8, 8}, torch::requires_grad());
  const auto y = aug.input("image", x).run().at("image");
  CHECK(!torch::allclose(y, x));
  y.square().sum().backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().abs().sum().item<double>() > 0);
  aug.sampling(true);
  CHECK(torch::equal(aug.run().at("image"), x));
  NodeRunner never(entry(R"("probability": 0.0)"));
  CHECK(torch::equal(never.input("image", x).run().at("image"), x));
}

TEST_CASE("DiffAugment.SameSeedSameDrawAndUnknownPoliciesAreNamed") {
  const auto x = torch::randn({4, 3, 8, 8});
  NodeRunner a(entry("")), b(entry(""));
  CHECK(torch::equal(a.input("image", x).run().at("image"), b.input("image", x).run().at("image")));
  CHECK(!torch::equal(a.run().at("image"), a.run().at("image")));  // the stream moves on
  // With probability 1/2 about half the images come through untouched.
  NodeRunner half(entry(R"("probability": 0.5)"));
  const auto many = torch::randn({64, 3, 4, 4});
  const auto y = half.input("image", many).run().at("image");
  const auto same = (y - many).abs().flatten(1).amax(1).eq(0).sum().item<int64_t>();
  CHECK(same > 16);
  CHECK(same < 48);
  CHECK_THROWS_WITH_AS(NodeRunner(entry(R"("policy": "color,flip")")).input("image", x).run(),
                       doctest::Contains("unknown augmentation \"flip\""), NodeRunnerError);
}
