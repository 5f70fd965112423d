#include "images/emoji_index.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace ganglion::data {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (auto& item : split_trimmed(text, ','))
    if (!item.empty()) out.push_back(std::move(item));
  return out;
}

const std::vector<std::string>& known_styles() {
  static const std::vector<std::string> styles{"twitter", "google", "apple", "facebook"};
  return styles;
}

}  // namespace

std::vector<std::string> split_trimmed(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, separator)) {
    const auto first = item.find_first_not_of(' '), last = item.find_last_not_of(' ');
    out.push_back(first == std::string::npos ? std::string() : item.substr(first, last - first + 1));
  }
  return out;
}

Contract& emoji_selection_params(Contract& c) {
  return c.param_path("folder", {}, "folder holding emoji.json and img/STYLE/64/*.png (${data}/emoji)")
      .param_string("styles", std::string("twitter"),
                    "comma-separated drawing styles: twitter, google, apple, facebook")
      .param_string("categories", std::string(),
                    "comma-separated categories to keep (\"Smileys & Emotion,Animals & Nature\"); empty: all")
      .param_bool("skin_tones", false, "also the skin-tone variants of people and hands")
      .param_string("split", std::string("all"),
                    "which emoji: all, or a held-out split by emoji (every style and skin tone of one "
                    "emoji on the same side): test is every test_every-th of emoji.json, train the rest")
      .param_int("test_every", 10, 2, 1 << 20, "with split: one emoji in this many is held out for test");
}

Contract& emoji_image_params(Contract& c) {
  return c
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

EmojiIndex EmojiIndex::read(const Params& params) {
  const std::string folder = params.text("folder");
  const auto styles = split_list(params.text("styles"));
  if (styles.empty()) throw std::invalid_argument("param styles is empty: name at least one (twitter)");
  for (const auto& style : styles)
    if (std::find(known_styles().begin(), known_styles().end(), style) == known_styles().end())
      throw std::invalid_argument("param styles: unknown style \"" + style +
                                  "\": use twitter, google, apple or facebook");
  const std::string split = params.text("split");
  if (split != "all" && split != "train" && split != "test")
    throw std::invalid_argument("param split is \"" + split + "\": use all, train or test");
  const bool skin_tones = params.flag("skin_tones");
  EmojiIndex out;
  out.test_every = params.integer("test_every");
  out.categories = split_list(params.text("categories"));

  const fs::path index_file = fs::path(folder) / "emoji.json";
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
  const auto entry_at = [&](size_t i) -> const nlohmann::json& {
    if (!index[i].is_object())
      throw std::invalid_argument(where + ": /" + std::to_string(i) + ": an emoji is an object");
    return index[i];
  };
  const auto text_field = [&](const nlohmann::json& entry, const char* key, size_t i) {
    const auto it = entry.find(key);
    if (it == entry.end() || !it->is_string() || it->get<std::string>().empty())
      throw std::invalid_argument(where + ": /" + std::to_string(i) + ": no \"" + key + "\" string");
    return it->get<std::string>();
  };
  // The words are optional: data/emoji never reads them, and a caption source checks what it uses.
  const auto optional_text = [&](const nlohmann::json& entry, const char* key) {
    const auto it = entry.find(key);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto has_image = [&](const nlohmann::json& entry, const std::string& style) {
    const auto it = entry.find("has_img_" + style);
    return it != entry.end() && it->is_boolean() && it->get<bool>();
  };
  // Categories in the order of their first emoji by sort_order, unless the graph names them.
  if (out.categories.empty()) {
    std::map<std::string, double> first;
    for (size_t i = 0; i < index.size(); ++i) {
      const std::string category = text_field(entry_at(i), "category", i);
      const auto order = index[i].find("sort_order");
      const double place =
          order != index[i].end() && order->is_number() ? order->get<double>() : static_cast<double>(i);
      auto [it, added] = first.emplace(category, place);
      if (!added) it->second = std::min(it->second, place);
    }
    for (const auto& [name, place] : first) out.categories.push_back(name);
    std::stable_sort(out.categories.begin(), out.categories.end(),
                     [&](const std::string& a, const std::string& b) { return first[a] < first[b]; });
  }
  std::map<std::string, int64_t> category_index;
  for (size_t c = 0; c < out.categories.size(); ++c)
    category_index[out.categories[c]] = static_cast<int64_t>(c);
  std::map<std::string, bool> category_used;
  const int64_t test_every = split == "all" ? 0 : out.test_every;
  for (size_t i = 0; i < index.size(); ++i) {
    const auto& entry = entry_at(i);
    Emoji e;
    e.category = text_field(entry, "category", i);
    e.name = optional_text(entry, "name");
    e.subcategory = optional_text(entry, "subcategory");
    const auto shorts = entry.find("short_names");
    if (shorts != entry.end() && shorts->is_array())
      for (const auto& s : *shorts)
        if (s.is_string() && !s.get<std::string>().empty()) e.short_names.push_back(s.get<std::string>());
    e.test = static_cast<int64_t>(i) % out.test_every == 0;
    const auto found = category_index.find(e.category);
    if (found != category_index.end()) e.label = found->second;
    out.emoji.push_back(std::move(e));
    if (found == category_index.end()) continue;
    category_used[found->first] = true;
    if (test_every > 0 && out.emoji.back().test != (split == "test")) continue;
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
        const fs::path file = fs::path(folder) / "img" / styles[s] / "64" / image;
        if (!fs::is_regular_file(file))
          throw std::invalid_argument("no " + file.string() + ", which " + where + " lists for style " +
                                      styles[s] + ": run scripts/fetch-data.sh again");
        out.images.push_back(
            {file.string(), found->second, static_cast<int64_t>(s), static_cast<int64_t>(i)});
      }
  }
  for (const auto& category : out.categories)
    if (!category_used.count(category))
      throw std::invalid_argument("param categories: no emoji of category \"" + category + "\" in " + where);
  if (out.images.empty())
    throw std::invalid_argument(where + " lists no image of the styles and categories asked for");
  return out;
}

void decode_emoji(const std::string& file, const images::Colour& background, int64_t size, int64_t channels,
                  torch::Tensor out) {
  cv::Mat composite = images::read_rgb(file, background);
  if (composite.rows != size || composite.cols != size)
    cv::resize(composite, composite, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0,
               size < composite.rows ? cv::INTER_AREA : cv::INTER_LINEAR);
  images::to_tensor(composite, static_cast<int>(channels), out);
}

}  // namespace ganglion::data
