// data/emoji: the emoji images of the emoji-datasource npm packages (64x64 RGBA PNGs in up to four
// drawing styles, and emoji.json naming each emoji's category and which styles draw it), their
// alpha composited onto a background colour, labelled by category and by style. scripts/
// fetch-data.sh puts the four packages' images and emoji.json in data-cache/emoji.
#include <ganglion/plugin.h>

#include "data/ordered_source.h"
#include "images/emoji_index.h"
#include "images/image_decode.h"
#include "images/parallel_decode.h"

namespace ganglion::data {

class EmojiSource : public OrderedSource {
 public:
  static Contract contract() {
    Contract c("data/emoji", NodeKind::Source);
    c.counts_rows()
        .doc(
            "emoji images (emoji-datasource 64x64 PNGs) composited onto a background, labelled by "
            "category and style, in [-1, 1]")
        .output("image", DType::Float, "B,C,H,W", "images in [-1, 1], H = W = size")
        .output("label", DType::Long, "B",
                "category of each emoji: its place in param categories, or when that is empty in the "
                "categories of emoji.json ordered by their first emoji (Smileys & Emotion 0, People & Body "
                "1, Component 2, Animals & Nature 3, Food & Drink 4, Travel & Places 5, Activities 6, "
                "Objects 7, Symbols 8, Flags 9 in 16.0.0)")
        .output("style", DType::Long, "B", "drawing style of each image: its place in param styles");
    return emoji_image_params(emoji_selection_params(c));
  }

  explicit EmojiSource(const NodeSetup& s)
      : background_(images::parse_colour(s.params.text("background"))),
        size_(s.params.integer("size")),
        channels_(s.params.integer("channels")),
        batch_(s.params.integer("batch")),
        threads_(s.params.integer("threads")) {
    if (channels_ != 1 && channels_ != 3)
      throw std::invalid_argument("param channels is " + std::to_string(channels_) + ": use 1 or 3");
    images_ = EmojiIndex::read(s.params).images;
    order_items(s, static_cast<int64_t>(images_.size()), batch_);
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    const std::vector<int64_t> items = order_->next(batch_);
    const int64_t count = static_cast<int64_t>(items.size());
    auto images = torch::empty({count, channels_, size_, size_}, torch::kFloat);
    std::vector<int64_t> labels(count), styles(count);
    parallel_decode(count, threads_, [&](int64_t i) {
      const auto& image = images_[items[i]];
      decode_emoji(image.file, background_, size_, channels_, images[i]);
      labels[i] = image.label;
      styles[i] = image.style;
    });
    return {{"image", images},
            {"label", torch::tensor(labels, torch::kLong)},
            {"style", torch::tensor(styles, torch::kLong)}};
  }

 private:
  images::Colour background_;
  int64_t size_, channels_, batch_, threads_;
  std::vector<EmojiIndex::Image> images_;
};

}  // namespace ganglion::data

void register_emoji_source(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::EmojiSource>());
}
