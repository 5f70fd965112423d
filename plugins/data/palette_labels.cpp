// data/palette-labels: images turned into label maps of named colours as a batch passes: each
// pixel the class of its nearest palette colour (SPADE's label maps, made from the emoji
// themselves), as class indices, as one-hot channels for a generator, and as the palette's
// colours for a picture of the map.
#include <ganglion/plugin.h>

#include "common/palette.h"

namespace ganglion::data {

class PaletteLabels : public Function {
 public:
  static Contract contract() {
    return Contract("data/palette-labels", NodeKind::Function)
        .doc(
            "label maps from images: each pixel the class of its nearest palette colour (one-hot, indices, "
            "colours)")
        .input("image", DType::Float, "B,3,H,W", "images in [-1, 1]")
        .output("one_hot", DType::Float, "B,K,H,W",
                "the map as K one-hot channels, K = the palette's classes")
        .output("labels", DType::Long, "B,H,W", "the class of each pixel, 0..K-1 in the palette's order")
        .output("colours", DType::Float, "B,3,H,W", "each pixel its class's colour: a picture of the map")
        .param_string(
            "palette", std::string("emoji"),
            "emoji (white, black, gray, brown, dark-brown, red, orange, yellow, green, blue, purple, "
            "pink: Twemoji's colours) or name=#rrggbb,name=#rrggbb,...");
  }
  explicit PaletteLabels(const NodeSetup& s)
      : classes_(static_cast<int64_t>(parse_palette(s.params.text("palette")).size())),
        colours_(palette_colours(parse_palette(s.params.text("palette")))) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto labels = nearest_class(in.at("image").detach(), colours_);
    return {{"one_hot", one_hot_maps(labels, classes_)},
            {"labels", labels},
            {"colours", colour_maps(labels, colours_)}};
  }

 private:
  int64_t classes_;
  torch::Tensor colours_;
};

}  // namespace ganglion::data

void register_palette_labels(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::data::PaletteLabels>());
}
