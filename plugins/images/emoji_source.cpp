// data/emoji: the emoji images of the emoji-datasource npm packages (64x64 RGBA PNGs in up to four
// drawing styles, and emoji.json naming each emoji's category and which styles draw it), their
// alpha composited onto a background colour, labelled by category and by style. scripts/
// fetch-data.sh puts the four packages' images and emoji.json in data-cache/emoji.
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <ganglion/plugin.h>

#include <algorithm>
#include <array>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "data/ordered_source.h"
#include "images/image_decode.h"
#include "images/parallel_decode.h"

namespace fs = std::filesystem;

namespace ganglion::data {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(' '), last = item.find_last_not_of(' ');
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
  }
  return out;
}

const std::vector<std::string>& known_styles() {
  static const std::vector<std::string> styles{"twitter", "google", "apple", "facebook"};
  return styles;
}

}  // namespace

class EmojiSource : public OrderedSource {
 public:
  static Contract contract() {
    return Contract("data/emoji", NodeKind::Source)
        .counts_rows()
        .doc(
            "emoji images (emoji-datasource 64x64 PNGs) composited onto a background, labelled by "
            "category and style, in [-1, 1]")
        .output("image", DType::Float, "B,C,H,W", "images in [-1, 1], H = W = size")
        .output("label", DType::Long, "B",
                "category of each emoji: its place in param categories, or when that is empty in the "
                "categories of emoji.json ordered by their first emoji (Smileys & Emotion 0, People & Body "
                "1, Component 2, Animals & Nature 3, Food & Drink 4, Travel & Places 5, Activities 6, "
                "Objects 7, Symbols 8, Flags 9 in 16.0.0)")
        .output("style", DType::Long, "B", "drawing style of each image: its place in param styles")
        .param_path("folder", {}, "folder holding emoji.json and img/STYLE/64/*.png (${data}/emoji)")
        .param_string("styles", std::string("twitter"),
                      "comma-separated drawing styles: twitter, google, apple, facebook")
        .param_string(
            "categories", std::string(),
            "comma-separated categories to keep (\"Smileys & Emotion,Animals & Nature\"); empty: all")
        .param_bool("skin_tones", false, "also the skin-tone variants of people and hands")
        .param_string("split", std::string("all"),
                      "which emoji: all, or a held-out split by emoji (every style and skin tone of one "
                      "emoji on the same side): test is every test_every-th of emoji.json, train the rest")
        .param_int("test_every", 10, 2, 1 << 20, "with split: one emoji in this many is held out for test")
        .param_string("background", std::string("white"),
                      "colour the transparent parts show: white, black, gray or #rrggbb")
        .param_int("size", 64, 4, 1024, "side of the square images produced (resized from 64)")
        .param_int("channels", 3, 1, 3, "3 (RGB) or 1 (grayscale)")
        .param_int("batch", 64, 1, 1 << 20, "images per batch")
        .param_int("limit", 0, 0, {}, "use only the first N images in emoji.json's order (0 = all)")
        .param_bool("shuffle", true, "reshuffle every epoch (from the graph's seed)")
        .param_bool("drop_last", true, "skip the last, smaller batch of an epoch")
        .param_int("threads", 2, 1, 256, "threads decoding each batch");
  }

  explicit EmojiSource(const NodeSetup& s)
      : folder_(s.params.text("folder")),
        background_(images::parse_colour(s.params.text("background"))),
        size_(s.params.integer("size")),
        channels_(s.params.integer("channels")),
        batch_(s.params.integer("batch")),
        threads_(s.params.integer("threads")) {
    if (channels_ != 1 && channels_ != 3)
      throw std::invalid_argument("param channels is " + std::to_string(channels_) + ": use 1 or 3");
    const auto styles = split_list(s.params.text("styles"));
    if (styles.empty()) throw std::invalid_argument("param styles is empty: name at least one (twitter)");
    for (const auto& style : styles)
      if (std::find(known_styles().begin(), known_styles().end(), style) == known_styles().end())
        throw std::invalid_argument("param styles: unknown style \"" + style +
                                    "\": use twitter, google, apple or facebook");
    const std::string split = s.params.text("split");
    if (split != "all" && split != "train" && split != "test")
      throw std::invalid_argument("param split is \"" + split + "\": use all, train or test");
    read_index(styles, split_list(s.params.text("categories")), s.params.flag("skin_tones"),
               split == "all" ? 0 : s.params.integer("test_every"), split == "test");
    order_items(s, static_cast<int64_t>(files_.size()), batch_);
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    const std::vector<int64_t> items = order_->next(batch_);
    const int64_t count = static_cast<int64_t>(items.size());
    auto images = torch::empty({count, channels_, size_, size_}, torch::kFloat);
    std::vector<int64_t> labels(count), styles(count);
    parallel_decode(count, threads_, [&](int64_t i) {
      decode(files_[items[i]], images[i]);
      labels[i] = labels_[items[i]];
      styles[i] = styles_[items[i]];
    });
    return {{"image", images},
            {"label", torch::tensor(labels, torch::kLong)},
            {"style", torch::tensor(styles, torch::kLong)}};
  }

 private:
  /// Lists the images of emoji.json: every emoji (and with skin_tones its variants) in each style
  /// that draws it, in the file's order, style by style within an emoji.
  /// With `test_every` > 0 only the emoji of one side of the held-out split: emoji i of the file
  /// is a test emoji when i % test_every == 0.
  void read_index(const std::vector<std::string>& styles, std::vector<std::string> categories,
                  bool skin_tones, int64_t test_every, bool test_side) {
    const fs::path index_file = fs::path(folder_) / "emoji.json";
    const std::string where = index_file.string();
    std::ifstream in(index_file);
    if (!in)
      throw std::invalid_argument("param folder: no " + where +
                                  " (scripts/fetch-data.sh puts the emoji packages in ${data}/emoji)");
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(where + ": not JSON (" + std::string(e.what()) +
                                  "): run scripts/fetch-data.sh again");
    }
    if (!index.is_array() || index.empty())
      throw std::invalid_argument(where + ": expected a list of emoji, as emoji-datasource's emoji.json");
    const auto text_field = [&](const nlohmann::json& entry, const char* key, size_t i) {
      const auto it = entry.find(key);
      if (it == entry.end() || !it->is_string() || it->get<std::string>().empty())
        throw std::invalid_argument(where + ": /" + std::to_string(i) + ": no \"" + key + "\" string");
      return it->get<std::string>();
    };
    const auto has_image = [&](const nlohmann::json& entry, const std::string& style) {
      const auto it = entry.find("has_img_" + style);
      return it != entry.end() && it->is_boolean() && it->get<bool>();
    };
    // Categories in the order of their first emoji by sort_order, unless the graph names them.
    if (categories.empty()) {
      std::map<std::string, double> first;
      for (size_t i = 0; i < index.size(); ++i) {
        if (!index[i].is_object())
          throw std::invalid_argument(where + ": /" + std::to_string(i) + ": an emoji is an object");
        const std::string category = text_field(index[i], "category", i);
        const auto order = index[i].find("sort_order");
        const double place =
            order != index[i].end() && order->is_number() ? order->get<double>() : static_cast<double>(i);
        auto [it, added] = first.emplace(category, place);
        if (!added) it->second = std::min(it->second, place);
      }
      for (const auto& [name, place] : first) categories.push_back(name);
      std::stable_sort(categories.begin(), categories.end(),
                       [&](const std::string& a, const std::string& b) { return first[a] < first[b]; });
    }
    std::map<std::string, int64_t> category_index;
    for (size_t c = 0; c < categories.size(); ++c) category_index[categories[c]] = static_cast<int64_t>(c);
    std::map<std::string, bool> category_used;
    for (size_t i = 0; i < index.size(); ++i) {
      const auto& entry = index[i];
      if (!entry.is_object())
        throw std::invalid_argument(where + ": /" + std::to_string(i) + ": an emoji is an object");
      const auto found = category_index.find(text_field(entry, "category", i));
      if (found == category_index.end()) continue;
      category_used[found->first] = true;
      if (test_every > 0 && (static_cast<int64_t>(i) % test_every == 0) != test_side) continue;
      std::vector<const nlohmann::json*> variants{&entry};
      const auto skins = entry.find("skin_variations");
      if (skin_tones && skins != entry.end() && skins->is_object())
        for (const auto& [tone, variant] : skins->items())
          if (variant.is_object()) variants.push_back(&variant);
      for (const auto* variant : variants)
        for (size_t s = 0; s < styles.size(); ++s) {
          if (!has_image(*variant, styles[s])) continue;
          const std::string image = text_field(*variant, "image", i);
          if (image.find('/') != std::string::npos || image.find("..") != std::string::npos)
            throw std::invalid_argument(where + ": /" + std::to_string(i) + ": image \"" + image +
                                        "\" is not a file name");
          const fs::path file = fs::path(folder_) / "img" / styles[s] / "64" / image;
          if (!fs::is_regular_file(file))
            throw std::invalid_argument("no " + file.string() + ", which " + where + " lists for style " +
                                        styles[s] + ": run scripts/fetch-data.sh again");
          files_.push_back(file.string());
          labels_.push_back(found->second);
          styles_.push_back(static_cast<int64_t>(s));
        }
    }
    for (const auto& category : categories)
      if (!category_used.count(category))
        throw std::invalid_argument("param categories: no emoji of category \"" + category + "\" in " +
                                    where);
    if (files_.empty())
      throw std::invalid_argument(where + " lists no image of the styles and categories asked for");
  }

  /// Decodes `file` into `out` (C x size x size in [-1, 1]): alpha composited onto the background,
  /// then resized.
  void decode(const std::string& file, torch::Tensor out) const {
    cv::Mat composite = images::read_rgb(file, background_);
    if (composite.rows != size_ || composite.cols != size_)
      cv::resize(composite, composite, cv::Size(static_cast<int>(size_), static_cast<int>(size_)), 0, 0,
                 size_ < composite.rows ? cv::INTER_AREA : cv::INTER_LINEAR);
    images::to_tensor(composite, static_cast<int>(channels_), out);
  }

  std::string folder_;
  images::Colour background_;
  int64_t size_, channels_, batch_, threads_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_, styles_;
};

}  // namespace ganglion::data

void register_emoji_source(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::EmojiSource>());
}
