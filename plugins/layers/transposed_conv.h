// A 2-D transposed convolution with the parameters and results of torch::nn::ConvTranspose2d,
// computed by whichever formulation is fastest for the shape. On CPU, LibTorch 1.13 runs
// ConvTranspose2d through im2col + BLAS at a fraction of the speed its oneDNN convolutions reach;
// the same function written as ordinary convolutions (a sub-pixel convolution followed by a pixel
// shuffle, or one small convolution per output phase) or, on a 1x1 input, as one matrix product,
// runs on the fast path, forward and backward. The weight keeps ConvTranspose2d's layout
// [in, out, k, k], so checkpoints and initialisation are the same.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace ganglion::layers {

/// How a transposed convolution is computed. All give the same function (to float rounding).
enum class TransposedConvMethod {
  Auto,      ///< the fastest of the below for the shape and device (measured in docs/performance.md)
  Torch,     ///< torch::conv_transpose2d
  Matmul,    ///< one matrix product; only for a 1x1 input with no padding
  SubPixel,  ///< one convolution with out*stride^2 channels, then a pixel shuffle and a crop
  Phases,    ///< one convolution per output phase (stride^2 of them), written into a strided view
};

/// Parses "auto", "torch", "matmul", "subpixel" or "phases"; throws std::invalid_argument naming
/// the choices otherwise.
TransposedConvMethod parse_transposed_conv_method(const std::string& name);
const char* to_string(TransposedConvMethod method);

/// The method Auto picks for this input (N, C, H, W) and layer geometry.
TransposedConvMethod choose_transposed_conv_method(const torch::Tensor& input, int64_t kernel, int64_t stride,
                                                   int64_t padding, int64_t output_padding);

/// torch::conv_transpose2d(input, weight, bias, stride, padding, output_padding) for a square kernel,
/// groups = 1 and dilation = 1, computed by `method`. Differentiable in all three tensors.
torch::Tensor transposed_conv2d(const torch::Tensor& input, const torch::Tensor& weight,
                                const torch::Tensor& bias, int64_t stride, int64_t padding,
                                int64_t output_padding,
                                TransposedConvMethod method = TransposedConvMethod::Auto);

struct TransposedConv2dOptions {
  TransposedConv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(int64_t, output_padding) = 0;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(TransposedConvMethod, method) = TransposedConvMethod::Auto;
};

/// Drop-in for torch::nn::ConvTranspose2d: same parameter names, shapes and initialisation.
class TransposedConv2dImpl : public torch::nn::Cloneable<TransposedConv2dImpl> {
 public:
  explicit TransposedConv2dImpl(TransposedConv2dOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);

  TransposedConv2dOptions options;
  torch::Tensor weight, bias;
};
TORCH_MODULE(TransposedConv2d);

}  // namespace ganglion::layers
