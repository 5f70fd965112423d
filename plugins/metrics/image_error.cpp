// metrics/image-error: how far translated images are from their targets, pixel by pixel, the
// figures pix2pix-style papers report on held-out pairs: mean absolute error, PSNR and SSIM (Wang
// et al. 2004: an 11x11 Gaussian window of sigma 1.5, K1 0.01, K2 0.03, per channel, averaged over
// the window positions that fit), each per image and then averaged over the images.
#include <torch/nn/functional/conv.h>

#include <ganglion/plugin.h>

#include <cmath>

namespace ganglion::metrics {

namespace {

/// Per image mean SSIM of x and y ([N,C,H,W] in [0, 1]).
torch::Tensor ssim(const torch::Tensor& x, const torch::Tensor& y) {
  const int64_t size = 11, c = x.size(1);
  auto g = torch::arange(size, x.options()).sub(size / 2).pow(2).div(-2.0 * 1.5 * 1.5).exp();
  g = g / g.sum();
  const auto window = torch::outer(g, g).expand({c, 1, size, size}).contiguous();
  namespace F = torch::nn::functional;
  const auto blur = [&](const torch::Tensor& t) {
    return F::conv2d(t, window, F::Conv2dFuncOptions().groups(c));
  };
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const auto mx = blur(x), my = blur(y);
  const auto sxx = blur(x * x) - mx * mx, syy = blur(y * y) - my * my, sxy = blur(x * y) - mx * my;
  const auto map = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
  return map.flatten(1).mean(1);
}

}  // namespace

class ImageError : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/image-error", NodeKind::Function)
        .metric()
        .doc(
            "pixel error of images against their targets: mean |error|, PSNR (dB) and SSIM, averaged over "
            "images")
        .input("output", DType::Float, "N,C,H,W", "translated images in [-1, 1]")
        .input("target", DType::Float, "N,C,H,W", "the images they should be, in [-1, 1]")
        .output("l1", DType::Float, "", "mean absolute error on the [0, 1] scale")
        .output("psnr", DType::Float, "", "mean over images of 10 log10(1 / MSE), in dB on the [0, 1] scale")
        .output("ssim", DType::Float, "", "mean structural similarity, 1 for identical images");
  }
  explicit ImageError(const NodeSetup&) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& out = in.at("output");
    const auto& target = in.at("target");
    if (out.sizes() != target.sizes() || out.size(0) == 0)
      throw std::invalid_argument("output " + c10::str(out.sizes()) + " and target " +
                                  c10::str(target.sizes()) + " differ: compare images of one shape");
    if (out.size(2) < 11 || out.size(3) < 11)
      throw std::invalid_argument("images of " + std::to_string(out.size(2)) + "x" +
                                  std::to_string(out.size(3)) + " are smaller than SSIM's 11x11 window");
    // On the [0, 1] scale, clamped as a written image would be.
    const auto x = out.to(torch::kCPU, torch::kDouble).add(1).div(2).clamp(0, 1);
    const auto y = target.to(torch::kCPU, torch::kDouble).add(1).div(2).clamp(0, 1);
    const auto mse = (x - y).pow(2).flatten(1).mean(1);
    // An exact copy has no finite PSNR; 100 dB stands for it, as scikit-image's tools cap it.
    const auto psnr = torch::where(mse > 1e-10, -10.0 * torch::log10(mse), torch::full_like(mse, 100.0));
    const auto f = [](const torch::Tensor& t) { return t.to(torch::kFloat).reshape({}); };
    return {{"l1", f((x - y).abs().mean())}, {"psnr", f(psnr.mean())}, {"ssim", f(ssim(x, y).mean())}};
  }
};

}  // namespace ganglion::metrics

void register_image_error(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::ImageError>());
}
