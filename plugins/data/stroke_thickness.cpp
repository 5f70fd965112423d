// data/stroke-thickness: an attribute measured from a digit image, for conditioning on a
// continuous value the way face-aging GANs condition on age. Ink is where the image is above
// `threshold`; a stroke of width w and length L has area about w*L and about 2*L boundary pixels
// (ink with a 4-neighbour that is not ink), so width ~ 2 * area / boundary. That is an estimate
// (exact for long straight strokes at least 2 pixels wide), and it is differentiable nowhere; it
// labels data and scores samples, never a loss.
#include <torch/nn/functional/padding.h>

#include <ganglion/plugin.h>

namespace ganglion::data {

class StrokeThickness : public Function {
 public:
  static Contract contract() {
    return Contract("data/stroke-thickness", NodeKind::Function)
        .doc("estimated stroke width of a one-channel image (2 * ink area / ink boundary), as an attribute")
        .input("image", DType::Float, "B,1,H,W", "images in [-1, 1], ink bright (MNIST)")
        .output("thickness", DType::Float, "B,1", "(width in pixels - centre) / scale")
        .output("pixels", DType::Float, "B", "width in pixels (0 for an image without ink)")
        .param_float("threshold", 0.0, -1.0, 1.0, "values above this are ink")
        .param_float("centre", 3.0, {}, {}, "width subtracted before scaling (about MNIST's mean)")
        .param_float("scale", 1.0, 1e-6, {}, "width divided by this after centring");
  }
  explicit StrokeThickness(const NodeSetup& s)
      : threshold_(s.params.real("threshold")),
        centre_(s.params.real("centre")),
        scale_(s.params.real("scale")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& image = in.at("image");
    if (image.dim() != 4 || image.size(1) != 1)
      throw std::invalid_argument("image must be B x 1 x H x W, not " + c10::str(image.sizes()));
    const auto ink = image.detach().gt(threshold_).to(torch::kFloat);
    // A pixel is inside when it and its four neighbours are ink (outside the image counts as none).
    namespace F = torch::nn::functional;
    const auto padded = F::pad(ink, F::PadFuncOptions({1, 1, 1, 1}));
    const int64_t h = ink.size(2), w = ink.size(3);
    const auto inside = ink * padded.narrow(2, 0, h).narrow(3, 1, w) *
                        padded.narrow(2, 2, h).narrow(3, 1, w) * padded.narrow(2, 1, h).narrow(3, 0, w) *
                        padded.narrow(2, 1, h).narrow(3, 2, w);
    const auto area = ink.sum({1, 2, 3});
    const auto boundary = area - inside.sum({1, 2, 3});
    const auto pixels =
        torch::where(boundary.gt(0), 2 * area / boundary.clamp_min(1), torch::zeros_like(area));
    return {{"thickness", ((pixels - centre_) / scale_).unsqueeze(1)}, {"pixels", pixels}};
  }

 private:
  double threshold_, centre_, scale_;
};

}  // namespace ganglion::data

void register_stroke_thickness(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::data::StrokeThickness>());
}
