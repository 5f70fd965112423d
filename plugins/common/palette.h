// The named colours of a label map: what SPADE's label maps are painted with. Each class is a
// name and a colour; an image becomes a label map by taking, for every pixel, the class whose
// colour is nearest, so a user paints a map with these colours in any paint program. Shared by
// data/palette-labels (label maps made from the emoji as a batch passes) and data/label-map-file
// (a painted or integer map read from a file).
#pragma once

#include <torch/types.h>

#include <array>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ganglion {

struct PaletteClass {
  std::string name;
  std::array<int, 3> rgb;
};

/// The default palette, "emoji": twelve colours of Twemoji's own palette.
inline const std::vector<PaletteClass>& emoji_palette() {
  static const std::vector<PaletteClass> palette{
      {"white", {255, 255, 255}}, {"black", {41, 47, 51}},      {"gray", {153, 170, 181}},
      {"brown", {193, 105, 79}},  {"dark-brown", {102, 69, 0}}, {"red", {221, 46, 68}},
      {"orange", {244, 144, 12}}, {"yellow", {255, 204, 77}},   {"green", {119, 178, 85}},
      {"blue", {85, 172, 238}},   {"purple", {170, 142, 214}},  {"pink", {244, 171, 186}}};
  return palette;
}

/// "emoji", or "name=#rrggbb,name=#rrggbb,..." (at least two); std::invalid_argument naming the
/// param otherwise.
inline std::vector<PaletteClass> parse_palette(const std::string& text) {
  if (text == "emoji") return emoji_palette();
  std::vector<PaletteClass> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const auto eq = item.find('=');
    const std::string name = eq == std::string::npos ? "" : item.substr(0, eq);
    const std::string colour = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (name.empty() || colour.size() != 7 || colour[0] != '#' ||
        colour.find_first_not_of("0123456789abcdefABCDEF", 1) != std::string::npos)
      throw std::invalid_argument("param palette: \"" + item +
                                  "\" is not name=#rrggbb (give \"emoji\" or name=#rrggbb,name=#rrggbb,...)");
    PaletteClass c{name, {}};
    for (int i = 0; i < 3; ++i) c.rgb[i] = std::stoi(colour.substr(1 + 2 * i, 2), nullptr, 16);
    out.push_back(c);
  }
  if (out.size() < 2)
    throw std::invalid_argument("param palette names " + std::to_string(out.size()) +
                                " classes: a label map needs at least two");
  return out;
}

/// The palette's colours as a [K, 3] tensor in [-1, 1] (an image's scale).
inline torch::Tensor palette_colours(const std::vector<PaletteClass>& palette) {
  std::vector<float> v;
  for (const auto& c : palette)
    for (int x : c.rgb) v.push_back(static_cast<float>(x) / 127.5f - 1.0f);
  return torch::tensor(v).view({static_cast<int64_t>(palette.size()), 3});
}

/// The class of each pixel of `images` ([B, 3, H, W] in [-1, 1]): its nearest palette colour.
inline torch::Tensor nearest_class(const torch::Tensor& images, const torch::Tensor& colours) {
  const auto pixels = images.permute({0, 2, 3, 1}).unsqueeze(3);                                // B,H,W,1,3
  const auto d = (pixels - colours.to(images.device()).view({1, 1, 1, -1, 3})).pow(2).sum(-1);  // B,H,W,K
  return d.argmin(-1);
}

/// Labels [B, H, W] as one-hot channels [B, K, H, W] and as their colours [B, 3, H, W].
inline torch::Tensor one_hot_maps(const torch::Tensor& labels, int64_t classes) {
  return torch::one_hot(labels, classes).permute({0, 3, 1, 2}).to(torch::kFloat).contiguous();
}
inline torch::Tensor colour_maps(const torch::Tensor& labels, const torch::Tensor& colours) {
  return colours.to(labels.device())
      .index_select(0, labels.flatten())
      .view({labels.size(0), labels.size(1), labels.size(2), 3})
      .permute({0, 3, 1, 2})
      .contiguous();
}

}  // namespace ganglion
