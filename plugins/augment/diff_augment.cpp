// Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
// GAN Training"): the same random colour, translation and cutout applied to every image the
// discriminator sees, real and generated, written with differentiable ops so that G's gradient
// flows through them. On very small data sets it keeps D from memorising the real images.
#include <torch/nn/functional/padding.h>

#include <ganglion/plugin.h>

#include <sstream>

namespace ganglion::augment {

namespace F = torch::nn::functional;

class DiffAugment : public Function {
 public:
  static Contract contract() {
    return Contract("augment/diffaugment", NodeKind::Function)
        .doc(
            "DiffAugment: random brightness, saturation and contrast, translation and cutout, "
            "differentiable; apply to every image D sees, real and fake")
        .input("image", DType::Float, "B,C,H,W", "images in about [-1, 1]")
        .output("image", DType::Float, "B,C,H,W", "the augmented images")
        .param_string("policy", std::string("color,translation,cutout"),
                      "comma-separated augmentations in order: color, translation, cutout")
        .optional_input("probability", DType::Float, "",
                        "the chance that each image is augmented, in place of param probability (from "
                        "augment/ada-probability)")
        .param_float("probability", 1.0, 0.0, 1.0, "chance that each image is augmented (DiffAugment's is 1)")
        .param_float("translation_ratio", 0.125, 0.0, 1.0, "largest shift, as a fraction of the side")
        .param_float("cutout_ratio", 0.5, 0.0, 1.0, "side of the square cut out, as a fraction of the side");
  }

  explicit DiffAugment(const NodeSetup& s)
      : probability_(s.params.real("probability")),
        translation_(s.params.real("translation_ratio")),
        cutout_(s.params.real("cutout_ratio")) {
    std::stringstream in(s.params.text("policy"));
    std::string item;
    while (std::getline(in, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item.empty()) continue;
      if (item != "color" && item != "colour" && item != "translation" && item != "cutout")
        throw std::invalid_argument("param policy: unknown augmentation \"" + item +
                                    "\": use color, translation or cutout");
      policy_.push_back(item == "colour" ? "color" : item);
    }
  }

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    const auto& x = in.at("image");
    auto given = in.find("probability");
    const double probability = given != in.end() ? given->second.item<double>() : probability_;
    if (context.sampling() || policy_.empty() || probability <= 0.0) return {{"image", x}};
    at::Generator& gen = context.node_generator();
    torch::Tensor y = x;
    for (const auto& op : policy_) {
      if (op == "color")
        y = colour(y, gen);
      else if (op == "translation")
        y = translate(y, gen);
      else
        y = cut_out(y, gen);
    }
    if (probability < 1.0) {
      const auto keep = torch::rand({x.size(0), 1, 1, 1}, gen, x.options()).lt(probability).to(x.dtype());
      y = y * keep + x * (1 - keep);
    }
    return {{"image", y}};
  }

 private:
  torch::Tensor uniform(const torch::Tensor& x, at::Generator& gen) const {
    return torch::rand({x.size(0), 1, 1, 1}, gen, x.options());
  }

  torch::Tensor colour(torch::Tensor x, at::Generator& gen) const {
    x = x + (uniform(x, gen) - 0.5);  // brightness
    const auto grey = x.mean(1, true);
    x = (x - grey) * (uniform(x, gen) * 2) + grey;  // saturation
    const auto mean = x.mean({1, 2, 3}, true);
    return (x - mean) * (uniform(x, gen) + 0.5) + mean;  // contrast
  }

  /// Shifts each image by whole pixels, up to the ratio of its side each way, zeros coming in.
  torch::Tensor translate(const torch::Tensor& x, at::Generator& gen) const {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const int64_t sy = static_cast<int64_t>(h * translation_ + 0.5),
                  sx = static_cast<int64_t>(w * translation_ + 0.5);
    const auto opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
    const auto dy = torch::randint(-sy, sy + 1, {b, 1, 1}, gen, opts);
    const auto dx = torch::randint(-sx, sx + 1, {b, 1, 1}, gen, opts);
    // Source row of each output pixel, in the image padded by one zero pixel on every side.
    const auto rows = (torch::arange(h, opts).view({1, h, 1}) + dy + 1).clamp(0, h + 1).expand({b, h, w});
    const auto cols = (torch::arange(w, opts).view({1, 1, w}) + dx + 1).clamp(0, w + 1).expand({b, h, w});
    const auto padded = F::pad(x, F::PadFuncOptions({1, 1, 1, 1}));  // [B, C, H+2, W+2]
    const auto batch = torch::arange(b, opts).view({b, 1, 1}).expand({b, h, w});
    // Advanced indexing puts the indexed dimensions first: [B, H, W, C] back to [B, C, H, W].
    return padded.permute({0, 2, 3, 1}).index({batch, rows, cols}).permute({0, 3, 1, 2});
  }

  /// Zeros a square of the ratio of each side, at a random centre (partly outside is allowed).
  torch::Tensor cut_out(const torch::Tensor& x, at::Generator& gen) const {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const int64_t ch = static_cast<int64_t>(h * cutout_ + 0.5), cw = static_cast<int64_t>(w * cutout_ + 0.5);
    const auto opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
    const auto cy = torch::randint(0, h + (1 - ch % 2), {b, 1, 1}, gen, opts);
    const auto cx = torch::randint(0, w + (1 - cw % 2), {b, 1, 1}, gen, opts);
    const auto y = torch::arange(h, opts).view({1, h, 1}), xx = torch::arange(w, opts).view({1, 1, w});
    const auto inside =
        (y >= cy - ch / 2) & (y < cy - ch / 2 + ch) & (xx >= cx - cw / 2) & (xx < cx - cw / 2 + cw);
    return x * inside.logical_not().unsqueeze(1).to(x.dtype());
  }

  double probability_, translation_, cutout_;
  std::vector<std::string> policy_;
};

}  // namespace ganglion::augment

void register_diff_augment(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::augment::DiffAugment>());
}
