// Spectral normalisation: the effective weights have spectral norm 1 once the power iteration has
// converged, gradients reach the optimised weight, the vector is state, and eval mode freezes it.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "layers/spectral_norm.h"
#include "layers/transposed_conv.h"

using ganglion::layers::SpectralNorm;

namespace {

double largest_singular_value(const torch::Tensor& w, int64_t out_dim) {
  const auto m = (out_dim == 0 ? w : w.transpose(0, out_dim)).flatten(1);
  return std::get<1>(torch::svd(m.detach())).max().item<double>();
}

struct Net : torch::nn::Module {
  Net() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 4).stride(2)));
    up = register_module(
        "up", ganglion::layers::TransposedConv2d(ganglion::layers::TransposedConv2dOptions(8, 5, 4)));
    fc = register_module("fc", torch::nn::Linear(20, 7));
  }
  torch::nn::Conv2d conv{nullptr};
  ganglion::layers::TransposedConv2d up{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace

TEST_CASE("SpectralNorm.EffectiveWeightsHaveNormOne") {
  torch::manual_seed(2);
  Net net;
  {
    torch::NoGradGuard no_grad;  // norms well above 1, so that normalising shows
    for (auto& p : net.parameters()) p.mul_(10);
  }
  SpectralNorm sn(net);
  CHECK(sn.layers() == 3);
  const auto original = net.conv->named_parameters(false)["weight"];
  CHECK(largest_singular_value(original, 0) > 1.2);  // the test would pass vacuously otherwise
  for (int i = 0; i < 60; ++i) sn.refresh(true);
  CHECK(largest_singular_value(net.conv->weight, 0) == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(largest_singular_value(net.up->weight, 1) == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(largest_singular_value(net.fc->weight, 0) == doctest::Approx(1.0).epsilon(1e-3));
  // The optimiser's parameter is untouched, under its usual name; the vector is a buffer.
  CHECK(torch::equal(net.conv->named_parameters(false)["weight"], original));
  CHECK(net.named_buffers().contains("conv.weight_u"));
  CHECK(net.named_buffers().contains("up.weight_u"));
}

TEST_CASE("SpectralNorm.GradientsReachTheOptimisedWeightAndEvalFreezesTheVector") {
  torch::manual_seed(3);
  Net net;
  SpectralNorm sn(net);
  sn.refresh(true);
  net.fc->forward(torch::randn({2, 20})).sum().backward();
  const auto grad = net.fc->named_parameters(false)["weight"].grad();
  REQUIRE(grad.defined());
  CHECK(grad.abs().sum().item<double>() > 0);
  const auto u = net.named_buffers()["fc.weight_u"].clone();
  sn.refresh(false);
  CHECK(torch::equal(net.named_buffers()["fc.weight_u"], u));
  sn.refresh(true);
  CHECK(!torch::equal(net.named_buffers()["fc.weight_u"], u));
}

TEST_CASE("SpectralNorm.TwoForwardsThenOneBackward") {
  // A discriminator phase scores real and fake data before its backward: the second forward's
  // power iteration must not invalidate the first forward's graph.
  torch::manual_seed(4);
  Net net;
  SpectralNorm sn(net);
  sn.refresh(true);
  const auto a = net.fc->forward(torch::randn({2, 20})).sum();
  sn.refresh(true);
  const auto b = net.fc->forward(torch::randn({2, 20})).sum();
  CHECK_NOTHROW((a + b).backward());
  CHECK(net.fc->named_parameters(false)["weight"].grad().defined());
}

TEST_CASE("SpectralNorm.ANetWithoutLayersIsAnError") {
  torch::nn::Module empty;
  CHECK_THROWS_WITH_AS(SpectralNorm{empty}, doctest::Contains("found no Conv2d"), std::invalid_argument);
}
