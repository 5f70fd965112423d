// The layers StyleGAN2 is built from, each against a direct implementation of its definition:
// upfirdn2d against the pixel-by-pixel sum, the modulated convolution's batched form against
// one convolution per sample with modulated and demodulated weights, the minibatch standard
// deviation against its groups computed one by one.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "layers/equalized.h"
#include "layers/minibatch_stddev.h"
#include "layers/modulated_conv.h"
#include "layers/upfirdn2d.h"
#include "test_support.h"

using namespace ganglion;
using namespace ganglion::layers;

TEST_CASE("Upfirdn2d.EqualsTheDirectSumForEveryUpDownAndPadding") {
  torch::manual_seed(3);
  struct Case {
    int64_t up, down;
    Padding2d pad;
    int64_t kh, kw;
    double gain;
  };
  const std::vector<Case> cases{{1, 1, {1, 1, 1, 1}, 3, 3, 1.0},   {2, 1, {2, 1, 2, 1}, 4, 4, 4.0},
                                {1, 2, {1, 1, 1, 1}, 4, 4, 1.0},   {2, 2, {1, 2, 0, 3}, 4, 4, 2.0},
                                {3, 1, {0, 0, 0, 0}, 2, 5, 1.0},   {1, 1, {-1, 2, 3, -2}, 3, 2, 0.5},
                                {2, 3, {-1, -1, 2, 2}, 5, 3, 1.5}, {1, 1, {0, 0, 0, 0}, 1, 1, 1.0}};
  for (const auto& c : cases) {
    CAPTURE(c.up);
    CAPTURE(c.down);
    const auto x = torch::randn({2, 3, 7, 6});
    const auto f = torch::randn({c.kh, c.kw});  // not symmetric: a missing flip would show
    const auto fast = upfirdn2d(x, f, c.up, c.down, c.pad, c.gain);
    const auto direct = upfirdn2d_reference(x, f, c.up, c.down, c.pad, c.gain);
    REQUIRE(fast.sizes() == direct.sizes());
    CHECK(torch::allclose(fast.to(torch::kDouble), direct, 1e-4, 1e-5));
  }
}

TEST_CASE("Upfirdn2d.ResamplesByTwoAndKeepsAConstantImageConstant") {
  const auto f = fir_filter({1, 3, 3, 1});
  CHECK(f.sum().item<double>() == doctest::Approx(1.0));
  CHECK(torch::allclose(f, f.t()));
  const auto ones = torch::ones({1, 2, 8, 8});
  const auto up = upsample2d(ones, f), down = downsample2d(ones, f);
  CHECK(up.sizes() == torch::IntArrayRef({1, 2, 16, 16}));
  CHECK(down.sizes() == torch::IntArrayRef({1, 2, 4, 4}));
  // Away from the zero-padded border the gain of 4 restores the level the zeros diluted.
  CHECK(torch::allclose(up.slice(2, 2, 14).slice(3, 2, 14), torch::ones({1, 2, 12, 12})));
  CHECK(torch::allclose(down.slice(2, 1, 3).slice(3, 1, 3), torch::ones({1, 2, 2, 2})));
  // Differentiable twice (R1 and path-length regularisation differentiate through it).
  auto x = torch::randn({1, 1, 4, 4}, torch::requires_grad());
  auto g = torch::autograd::grad({upsample2d(x, f).square().sum()}, {x}, {}, true, true)[0];
  g.sum().backward();
  CHECK(x.grad().defined());
  CHECK(upfirdn2d_reference(torch::ones({1, 1, 2, 2}), torch::ones({2, 2}), 1, 1, {0, 0, 0, 0})
            .sum()
            .item<double>() == doctest::Approx(4.0));
  CHECK(test::error_of([&] {
          upfirdn2d(torch::ones({1, 1, 2, 2}), torch::ones({4, 4}), 1, 1, {0, 0, 0, 0});
        }).find("does not fit") != std::string::npos);
}

TEST_CASE("ModulatedConv.BatchedFormEqualsOneDemodulatedConvolutionPerSample") {
  torch::manual_seed(5);
  for (bool up : {false, true}) {
    for (bool demodulate : {true, false}) {
      CAPTURE(up);
      CAPTURE(demodulate);
      ModulatedConv2d conv(4, 6, 3, 8, demodulate, up);
      const auto x = torch::randn({3, 4, 5, 5}), w = torch::randn({3, 8});
      const auto batched = conv->forward(x, w);
      const auto params = conv->named_parameters();
      const auto styles = conv->named_children()["affine"]->as<EqualLinearImpl>()->forward(w);
      const auto weight = params["weight"] / std::sqrt(4.0 * 9.0);
      for (int64_t b = 0; b < 3; ++b) {
        auto wb = weight * styles[b].view({1, 4, 1, 1});
        if (demodulate) wb = wb * (wb.square().sum({1, 2, 3}, true) + 1e-8).rsqrt();
        auto xb = x.slice(0, b, b + 1);
        if (up) xb = upsample2d(xb, fir_filter({1, 3, 3, 1}));
        const auto one = torch::conv2d(xb, wb, {}, 1, 1);
        CHECK(torch::allclose(batched.slice(0, b, b + 1), one, 1e-4, 1e-5));
      }
      CHECK(batched.size(2) == (up ? 10 : 5));
    }
  }
}

TEST_CASE("ModulatedConv.DemodulationKeepsUnitMagnitudeWhateverTheStyle") {
  torch::manual_seed(6);
  ModulatedConv2d conv(64, 32, 3, 16);
  const auto x = torch::randn({4, 64, 16, 16});
  // Styles far from 1 scale the weights by up to 10x; demodulation undoes the scale.
  const auto small = conv->forward(x, torch::zeros({4, 16})).std().item<double>();
  const auto large = conv->forward(x, torch::randn({4, 16}) * 10).std().item<double>();
  CHECK(small == doctest::Approx(1.0).epsilon(0.2));
  CHECK(large == doctest::Approx(1.0).epsilon(0.2));
}

TEST_CASE("EqualizedLayers.ScaleAtRunTimeAndHalveTheSize") {
  torch::manual_seed(7);
  EqualLinear slow(10, 4, Activation::Linear, 0.01);
  // Stored weights are N(0, 1) / lr_mul; the call sees them times lr_mul / sqrt(fan_in).
  const auto stored = slow->named_parameters()["weight"];
  CHECK(stored.std().item<double>() > 30.0);
  CHECK(torch::allclose(slow->scaled_weight(), stored * 0.01 / std::sqrt(10.0)));
  EqualConv2d down(3, 5, 3, Activation::LeakyRelu, true, true);
  CHECK(down->forward(torch::randn({2, 3, 16, 16})).sizes() == torch::IntArrayRef({2, 5, 8, 8}));
  EqualConv2d skip(3, 5, 1, Activation::Linear, false, true);
  CHECK(skip->forward(torch::randn({2, 3, 16, 16})).sizes() == torch::IntArrayRef({2, 5, 8, 8}));
  // The leaky ReLU's gain sqrt(2): 2 -> 2 sqrt(2), -1 -> -0.2 sqrt(2).
  const auto act = bias_act(torch::tensor({2.0, -1.0}).view({1, 2}), {}, Activation::LeakyRelu);
  CHECK(act[0][0].item<double>() == doctest::Approx(2 * std::sqrt(2.0)));
  CHECK(act[0][1].item<double>() == doctest::Approx(-0.2 * std::sqrt(2.0)));
}

TEST_CASE("MinibatchStddev.AppendsEachGroupsDeviation") {
  torch::manual_seed(8);
  const auto x = torch::randn({8, 6, 3, 3});
  const auto y = minibatch_stddev(x, 4, 2);
  REQUIRE(y.sizes() == torch::IntArrayRef({8, 8, 3, 3}));
  CHECK(torch::equal(y.slice(1, 0, 6), x));
  // Sample b's group: b mod 2, b mod 2 + 2, ...; feature f: channels 3f..3f+2.
  for (int64_t b = 0; b < 8; ++b)
    for (int64_t f = 0; f < 2; ++f) {
      const auto group = x.index({torch::arange(b % 2, 8, 2)}).slice(1, 3 * f, 3 * f + 3);
      const auto sd = (group.var(0, false) + 1e-8).sqrt().mean().item<double>();
      CHECK(y[b][6 + f][1][2].item<double>() == doctest::Approx(sd).epsilon(1e-4));
    }
  CHECK(test::error_of([&] {
          minibatch_stddev(torch::randn({6, 4, 2, 2}), 4, 1);
        }).find("groups of 4") != std::string::npos);
}
