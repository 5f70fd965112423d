// The fast transposed convolution must be torch's ConvTranspose2d, forward and backward, for every
// method and memory format; a formulation that is off by one tap or one phase fails here.
#include <doctest/doctest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "layers/transposed_conv.h"

using ganglion::layers::TransposedConvMethod;

namespace {

struct Case {
  int64_t in, out, kernel, stride, padding, output_padding, height, width;
  bool bias;
};

// The generator layers of the DCGAN nets (28 and power-of-two resolutions) and the corners:
// stride 1, stride 3, stride larger than the kernel, output padding, odd sizes, non-square input.
const Case kCases[] = {
    {100, 32, 4, 1, 0, 0, 1, 1, false},  // z -> 4x4
    {32, 16, 3, 2, 1, 0, 4, 4, false},   // 4 -> 7 (resolution 28)
    {16, 8, 4, 2, 1, 0, 7, 7, false},    // 7 -> 14
    {8, 1, 4, 2, 1, 0, 14, 14, false},   // 14 -> 28
    {16, 8, 4, 2, 1, 0, 4, 4, true},     // 4 -> 8 (powers of two)
    {6, 5, 3, 1, 1, 0, 5, 6, true},      // stride 1
    {4, 3, 5, 3, 2, 1, 4, 3, true},      // stride 3, output padding
    {4, 3, 2, 3, 0, 2, 3, 4, true},      // stride > kernel: some outputs see only the bias
    {3, 2, 4, 2, 3, 1, 5, 5, false},     // padding larger than the stride
};

std::string describe(const Case& c) {
  return "in " + std::to_string(c.in) + " out " + std::to_string(c.out) + " k" + std::to_string(c.kernel) +
         " s" + std::to_string(c.stride) + " p" + std::to_string(c.padding) + " op" +
         std::to_string(c.output_padding) + " " + std::to_string(c.height) + "x" + std::to_string(c.width) +
         (c.bias ? " bias" : "");
}

void check_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.sizes() == want.sizes());
  const double scale = want.abs().max().item<double>() + 1e-6;
  CHECK((got - want).abs().max().item<double>() / scale < 1e-5);
}

}  // namespace

TEST_CASE("TransposedConv2d: every method equals torch's conv_transpose2d, forward and backward") {
  torch::manual_seed(7);
  for (const Case& c : kCases) {
    const auto x0 = torch::randn({3, c.in, c.height, c.width});
    const auto w0 = torch::randn({c.in, c.out, c.kernel, c.kernel});
    const auto b0 = c.bias ? torch::randn({c.out}) : torch::Tensor();
    auto run = [&](TransposedConvMethod method, torch::MemoryFormat format) {
      auto x = x0.clone(format).requires_grad_();
      auto w = w0.clone().requires_grad_();
      auto b = c.bias ? b0.clone().requires_grad_() : torch::Tensor();
      torch::Tensor y =
          method == TransposedConvMethod::Torch
              ? torch::conv_transpose2d(x, w, b, c.stride, c.padding, c.output_padding)
              : ganglion::layers::transposed_conv2d(x, w, b, c.stride, c.padding, c.output_padding, method);
      // A weighting that differs per output element, so a misplaced output changes every gradient.
      torch::manual_seed(11);
      (y * torch::randn(y.sizes())).sum().backward();
      return std::vector<torch::Tensor>{y.detach(), x.grad(), w.grad(),
                                        c.bias ? b.grad() : torch::zeros({1})};
    };
    const auto want = run(TransposedConvMethod::Torch, torch::MemoryFormat::Contiguous);
    std::vector<TransposedConvMethod> methods{TransposedConvMethod::Auto, TransposedConvMethod::SubPixel,
                                              TransposedConvMethod::Phases};
    if (c.height == 1 && c.width == 1 && c.padding == 0 && c.output_padding == 0)
      methods.push_back(TransposedConvMethod::Matmul);
    for (auto method : methods)
      for (auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
        const std::string name = describe(c) + " by " + to_string(method) +
                                 (format == torch::MemoryFormat::ChannelsLast ? " channels_last" : "");
        const auto got = run(method, format);
        check_close(got[0], want[0], name + ": output");
        check_close(got[1], want[1], name + ": input gradient");
        check_close(got[2], want[2], name + ": weight gradient");
        check_close(got[3], want[3], name + ": bias gradient");
      }
  }
}

TEST_CASE("TransposedConv2d: auto picks the fast formulations for the DCGAN generator's layers") {
  using ganglion::layers::choose_transposed_conv_method;
#if TORCH_VERSION_MAJOR >= 2
  // PyTorch 2.x has a fast ConvTranspose2d of its own on the CPU: auto leaves it to torch.
  CHECK(choose_transposed_conv_method(torch::zeros({2, 128, 7, 7}), 4, 2, 1, 0) ==
        TransposedConvMethod::Torch);
  return;
#endif
  CHECK(choose_transposed_conv_method(torch::zeros({2, 100, 1, 1}), 4, 1, 0, 0) ==
        TransposedConvMethod::Matmul);
  CHECK(choose_transposed_conv_method(torch::zeros({2, 128, 7, 7}), 4, 2, 1, 0) ==
        TransposedConvMethod::SubPixel);
  CHECK(choose_transposed_conv_method(torch::zeros({2, 256, 4, 4}), 3, 2, 1, 0) ==
        TransposedConvMethod::Phases);
}

TEST_CASE("TransposedConv2d: same parameters and initialisation as torch::nn::ConvTranspose2d") {
  for (bool bias : {false, true}) {
    torch::manual_seed(3);
    torch::nn::ConvTranspose2d torch_layer(torch::nn::ConvTranspose2dOptions(5, 4, 3).stride(2).bias(bias));
    torch::manual_seed(3);
    ganglion::layers::TransposedConv2d layer(
        ganglion::layers::TransposedConv2dOptions(5, 4, 3).stride(2).bias(bias));
    const auto a = torch_layer->named_parameters(), b = layer->named_parameters();
    REQUIRE(a.keys() == b.keys());
    for (const auto& p : a) CHECK(torch::equal(p.value(), b[p.key()]));
    const auto x = torch::randn({2, 5, 6, 6});
    check_close(layer->forward(x), torch_layer->forward(x), "module forward");
  }
}

TEST_CASE("TransposedConv2d: a wrong method name or geometry is a clear error") {
  CHECK_THROWS_WITH_AS(ganglion::layers::parse_transposed_conv_method("fast"),
                       doctest::Contains("choose auto, torch, matmul, subpixel or phases"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      ganglion::layers::transposed_conv2d(torch::zeros({1, 2, 3, 3}), torch::zeros({2, 1, 3, 3}), {}, 2, 0, 0,
                                          TransposedConvMethod::Matmul),
      doctest::Contains("1x1 input"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ganglion::layers::transposed_conv2d(torch::zeros({1, 3, 3, 3}),
                                                           torch::zeros({2, 1, 3, 3}), {}, 2, 0, 0),
                       doctest::Contains("3 channels"), std::invalid_argument);
}
