#include "layers/transposed_conv.h"

#include <torch/nn/init.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ganglion::layers {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

int64_t output_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t op) {
  return (in - 1) * s - 2 * p + k + op;
}

torch::MemoryFormat format_of(const torch::Tensor& x) {
  return x.is_contiguous(torch::MemoryFormat::ChannelsLast) && !x.is_contiguous()
             ? torch::MemoryFormat::ChannelsLast
             : torch::MemoryFormat::Contiguous;
}

// A convolution of x padded (or, where negative, cropped) on each side. Symmetric non-negative
// padding goes to the convolution itself: a separate pad costs a copy forward and backward.
torch::Tensor padded_conv2d(const torch::Tensor& x, const torch::Tensor& kernel, const torch::Tensor& bias,
                            int64_t top, int64_t bottom, int64_t left, int64_t right) {
  const int64_t ph = std::min(top, bottom), pw = std::min(left, right);
  const int64_t conv_h = std::max<int64_t>(ph, 0), conv_w = std::max<int64_t>(pw, 0);
  const torch::Tensor input =
      top == conv_h && bottom == conv_h && left == conv_w && right == conv_w
          ? x
          : at::constant_pad_nd(x, {left - conv_w, right - conv_w, top - conv_h, bottom - conv_h});
  return at::conv2d(input, kernel, bias, 1, {conv_h, conv_w});
}

// Rows of the sub-pixel convolution's output, per spatial dimension: q runs over
// [floor(p / s), floor((out - 1 + p) / s)], each q giving s output positions.
struct SubPixelSpan {
  int64_t first, count;
};
SubPixelSpan subpixel_span(int64_t in, int64_t k, int64_t s, int64_t p, int64_t op) {
  const int64_t out = output_size(in, k, s, p, op);
  const int64_t first = p / s, last = floor_div(out - 1 + p, s);
  return {first, last - first + 1};
}

// out[o] = sum_t in[q - t] * w[s*t + r] where o + p = s*q + r: for each phase r an ordinary
// correlation with the flipped taps w[r], w[r + s], ... Stacking the s*s phases as channels makes
// one convolution whose pixel shuffle, cropped, is the transposed convolution.
torch::Tensor subpixel(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias, int64_t s,
                       int64_t p, int64_t op) {
  const int64_t cin = w.size(0), cout = w.size(1), k = w.size(2), taps = ceil_div(k, s);
  const int64_t h = x.size(2), wd = x.size(3);
  torch::Tensor kernel = k == s * taps ? w : at::constant_pad_nd(w, {0, s * taps - k, 0, s * taps - k});
  kernel = kernel.reshape({cin, cout, taps, s, taps, s})
               .flip({2, 4})
               .permute({1, 3, 5, 0, 2, 4})
               .reshape({cout * s * s, cin, taps, taps})
               .contiguous(format_of(x));
  const SubPixelSpan rows = subpixel_span(h, k, s, p, op), cols = subpixel_span(wd, k, s, p, op);
  // Pad so that conv output u is q = first + u; negative pads crop input nobody reads.
  const int64_t top = taps - 1 - rows.first, left = taps - 1 - cols.first;
  const int64_t bottom = rows.count + taps - 1 - h - top, right = cols.count + taps - 1 - wd - left;
  const torch::Tensor b = bias.defined() ? bias.repeat_interleave(s * s) : bias;
  torch::Tensor y = at::pixel_shuffle(padded_conv2d(x, kernel, b, top, bottom, left, right), s);
  const int64_t ho = output_size(h, k, s, p, op), wo = output_size(wd, k, s, p, op);
  return y.slice(2, p % s, p % s + ho).slice(3, p % s, p % s + wo);
}

// The same phases as subpixel(), each its own convolution over exactly the outputs it owns:
// no wasted multiply-adds when the phases have unequal tap counts (kernel 3, stride 2).
torch::Tensor phases(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias, int64_t s,
                     int64_t p, int64_t op) {
  const int64_t k = w.size(2), h = x.size(2), wd = x.size(3);
  const int64_t ho = output_size(h, k, s, p, op), wo = output_size(wd, k, s, p, op);
  struct Phase {
    int64_t taps, first, count, pad_before, pad_after, out_first;
  };
  auto phase = [&](int64_t r, int64_t in, int64_t out) {
    Phase ph{};
    ph.taps = r < k ? ceil_div(k - r, s) : 0;
    ph.first = ceil_div(p - r, s);
    ph.count = floor_div(out - 1 + p - r, s) - ph.first + 1;
    ph.pad_before = ph.taps - 1 - ph.first;
    ph.pad_after = ph.count + ph.taps - 1 - in - ph.pad_before;
    ph.out_first = s * ph.first + r - p;
    return ph;
  };
  torch::Tensor out = torch::zeros({x.size(0), w.size(1), ho, wo}, x.options()).contiguous(format_of(x));
  for (int64_t rh = 0; rh < s; ++rh)
    for (int64_t rw = 0; rw < s; ++rw) {
      const Phase ph_h = phase(rh, h, ho), ph_w = phase(rw, wd, wo);
      if (ph_h.count <= 0 || ph_w.count <= 0) continue;
      torch::Tensor view = out.slice(2, ph_h.out_first, ho, s).slice(3, ph_w.out_first, wo, s);
      if (ph_h.taps == 0 || ph_w.taps == 0) {  // stride > kernel: these outputs see only the bias
        if (bias.defined()) view.copy_(bias.view({1, -1, 1, 1}).expand_as(view));
        continue;
      }
      const torch::Tensor kernel =
          w.slice(2, rh, k, s).slice(3, rw, k, s).flip({2, 3}).transpose(0, 1).contiguous(format_of(x));
      view.copy_(
          padded_conv2d(x, kernel, bias, ph_h.pad_before, ph_h.pad_after, ph_w.pad_before, ph_w.pad_after));
    }
  return out;
}

torch::Tensor matmul(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
  const int64_t cout = w.size(1), k = w.size(2);
  torch::Tensor y = x.flatten(1).mm(w.flatten(1)).view({x.size(0), cout, k, k});
  return bias.defined() ? y + bias.view({1, -1, 1, 1}) : y;
}

}  // namespace

TransposedConvMethod parse_transposed_conv_method(const std::string& name) {
  for (auto m : {TransposedConvMethod::Auto, TransposedConvMethod::Torch, TransposedConvMethod::Matmul,
                 TransposedConvMethod::SubPixel, TransposedConvMethod::Phases})
    if (name == to_string(m)) return m;
  throw std::invalid_argument("unknown transposed convolution method \"" + name +
                              "\"; choose auto, torch, matmul, subpixel or phases");
}

const char* to_string(TransposedConvMethod method) {
  switch (method) {
    case TransposedConvMethod::Auto:
      return "auto";
    case TransposedConvMethod::Torch:
      return "torch";
    case TransposedConvMethod::Matmul:
      return "matmul";
    case TransposedConvMethod::SubPixel:
      return "subpixel";
    case TransposedConvMethod::Phases:
      return "phases";
  }
  return "?";
}

TransposedConvMethod choose_transposed_conv_method(const torch::Tensor& input, int64_t kernel, int64_t stride,
                                                   int64_t padding, int64_t output_padding) {
  // cuDNN has a native transposed convolution; the rewrite pays only where LibTorch falls back
  // to im2col + BLAS.
  if (!input.device().is_cpu()) return TransposedConvMethod::Torch;
#if TORCH_VERSION_MAJOR >= 2
  // PyTorch 2.x's CPU ConvTranspose2d has its own fast path: on the 16-core GPU machine with
  // PyTorch 2.11 the graph step with the rewrite ran 1.19x the hand-written one (docs/performance.md).
  return TransposedConvMethod::Torch;
#endif
  const int64_t h = input.size(2), w = input.size(3);
  if (h == 1 && w == 1 && padding == 0 && output_padding == 0) return TransposedConvMethod::Matmul;
  // The sub-pixel convolution computes (s*T)^2 taps on a slightly larger grid; past 1.5x the
  // useful multiply-adds, one convolution per phase is faster (measured, docs/performance.md).
  const int64_t taps = ceil_div(kernel, stride);
  const double computed = double(stride * taps) * double(stride * taps) *
                          double(subpixel_span(h, kernel, stride, padding, output_padding).count) *
                          double(subpixel_span(w, kernel, stride, padding, output_padding).count);
  const double useful = double(kernel) * double(kernel) * double(h) * double(w);
  return computed <= 1.5 * useful ? TransposedConvMethod::SubPixel : TransposedConvMethod::Phases;
}

torch::Tensor transposed_conv2d(const torch::Tensor& input, const torch::Tensor& weight,
                                const torch::Tensor& bias, int64_t stride, int64_t padding,
                                int64_t output_padding, TransposedConvMethod method) {
  if (input.dim() != 4 || weight.dim() != 4 || weight.size(2) != weight.size(3))
    throw std::invalid_argument(
        "transposed_conv2d takes an N,C,H,W input and a square [in, out, k, k] weight");
  if (input.size(1) != weight.size(0))
    throw std::invalid_argument("transposed_conv2d: input has " + std::to_string(input.size(1)) +
                                " channels but the weight expects " + std::to_string(weight.size(0)));
  if (stride < 1 || padding < 0 || output_padding < 0 || output_padding >= stride)
    throw std::invalid_argument(
        "transposed_conv2d: need stride >= 1, padding >= 0 and 0 <= output_padding < stride");
  const int64_t k = weight.size(2);
  if (output_size(input.size(2), k, stride, padding, output_padding) < 1 ||
      output_size(input.size(3), k, stride, padding, output_padding) < 1)
    throw std::invalid_argument("transposed_conv2d: padding " + std::to_string(padding) +
                                " leaves no output for a " + std::to_string(input.size(2)) + "x" +
                                std::to_string(input.size(3)) + " input");
  if (method == TransposedConvMethod::Auto)
    method = choose_transposed_conv_method(input, k, stride, padding, output_padding);
  switch (method) {
    case TransposedConvMethod::Matmul:
      if (input.size(2) == 1 && input.size(3) == 1 && padding == 0 && output_padding == 0)
        return matmul(input, weight, bias);
      throw std::invalid_argument("the matmul method needs a 1x1 input, padding 0 and output_padding 0");
    case TransposedConvMethod::SubPixel:
      return subpixel(input, weight, bias, stride, padding, output_padding);
    case TransposedConvMethod::Phases:
      return phases(input, weight, bias, stride, padding, output_padding);
    default:
      return at::conv_transpose2d(input, weight, bias, stride, padding, output_padding);
  }
}

TransposedConv2dImpl::TransposedConv2dImpl(TransposedConv2dOptions options_) : options(std::move(options_)) {
  reset();
}

void TransposedConv2dImpl::reset() {
  // ConvTranspose2d's parameters and initialisation, in the same order, so that a seed gives the
  // same weights as torch::nn::ConvTranspose2d.
  const int64_t k = options.kernel_size();
  weight = register_parameter("weight", torch::empty({options.in_channels(), options.out_channels(), k, k}));
  if (options.bias())
    bias = register_parameter("bias", torch::empty({options.out_channels()}));
  else
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = std::get<0>(torch::nn::init::_calculate_fan_in_and_fan_out(weight));
    const double bound = 1.0 / std::sqrt(double(fan_in));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

torch::Tensor TransposedConv2dImpl::forward(const torch::Tensor& input) {
  return transposed_conv2d(input, weight, bias, options.stride(), options.padding(), options.output_padding(),
                           options.method());
}

}  // namespace ganglion::layers
