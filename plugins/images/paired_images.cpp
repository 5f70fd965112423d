// data/paired-images: pix2pix's aligned pairs from two folders, an image of folder_a paired with the
// image of folder_b that has the same path and name (any image extension): Twitter's emoji and
// Google's, drawn from the same code point, or a photo and its label map. Both images of a pair
// go through one transform (resized to resize x resize, the same crop, the same flip), so the
// pairing survives augmentation. A held-out split keeps whole groups of names on one side.
#include <opencv2/imgproc.hpp>

#include <ganglion/plugin.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>

#include "data/ordered_source.h"
#include "images/image_decode.h"
#include "images/parallel_decode.h"

namespace fs = std::filesystem;

namespace ganglion::data {

namespace {

/// Image files under `folder` by their path relative to it without the extension ("64/1f600").
std::map<std::string, std::string> images_by_name(const std::string& folder, const std::string& param) {
  if (!fs::is_directory(folder))
    throw std::invalid_argument("param " + param + ": " + folder + " is not a folder");
  std::map<std::string, std::string> out;
  for (const auto& entry :
       fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink)) {
    if (!entry.is_regular_file() || !images::has_image_extension(entry.path().string())) continue;
    const std::string key = fs::relative(entry.path(), folder).replace_extension().string();
    const auto [it, added] = out.emplace(key, entry.path().string());
    if (!added)
      throw std::invalid_argument("param " + param + ": " + it->second + " and " + entry.path().string() +
                                  " have the same name, so neither can be paired (keep one)");
  }
  return out;
}

}  // namespace

class PairedImages : public OrderedSource {
 public:
  static Contract contract() {
    return Contract("data/paired-images", NodeKind::Source)
        .counts_rows()
        .doc(
            "aligned image pairs (pix2pix): each image of folder_a with the image of folder_b of the same "
            "relative name, both resized, cropped and flipped alike, in [-1, 1]; names in only one folder "
            "are left out")
        .output("a", DType::Float, "B,CA,H,W", "the images of folder_a, H = W = size")
        .output("b", DType::Float, "B,CB,H,W", "their partners in folder_b, the same crop and flip")
        .param_path("folder_a", {}, "folder searched recursively for the A images")
        .param_path("folder_b", {}, "folder holding an image of the same relative name for each pair")
        .param_int("size", 64, 4, 8192, "side of the square images produced")
        .param_int("resize", 0, 0, 16384,
                   "both images are first resized to resize x resize (0: = size), pix2pix's load size")
        .param_string("crop", std::string("centre"), "centre or random (the same square of both)")
        .param_bool("flip", false, "flip both images left-right with probability 1/2")
        .param_int("channels_a", 3, 1, 3, "3 (RGB) or 1 (grayscale) for the A images")
        .param_int("channels_b", 3, 1, 3, "3 (RGB) or 1 (grayscale) for the B images")
        .param_string("background", std::string("white"),
                      "colour the transparent parts show: white, black, gray or #rrggbb")
        .param_string("split", std::string("all"),
                      "which pairs: all, or a held-out split by name: test is every test_every-th group of "
                      "names in sorted order, train the rest")
        .param_int("test_every", 10, 2, 1 << 20, "with split: one group in this many is held out for test")
        .param_string("group_separator", std::string("-"),
                      "names that agree up to this separator form one group, kept on one side of the split "
                      "(emoji-datasource's skin tones 1f44b-1f3fb stay with 1f44b); empty: each name alone")
        .param_int("batch", 16, 1, 1 << 20, "pairs per batch")
        .param_int("limit", 0, 0, {}, "use only the first N pairs in sorted order (0 = all)")
        .param_bool("shuffle", true, "reshuffle every epoch (from the graph's seed)")
        .param_bool("drop_last", true, "skip the last, smaller batch of an epoch")
        .param_int("threads", 2, 1, 256, "threads decoding each batch");
  }

  explicit PairedImages(const NodeSetup& s)
      : size_(s.params.integer("size")),
        resize_(s.params.integer("resize") > 0 ? s.params.integer("resize") : s.params.integer("size")),
        random_crop_(s.params.text("crop") == "random"),
        flip_(s.params.flag("flip")),
        channels_a_(s.params.integer("channels_a")),
        channels_b_(s.params.integer("channels_b")),
        background_(images::parse_colour(s.params.text("background"))),
        batch_(s.params.integer("batch")),
        threads_(s.params.integer("threads")) {
    const auto& crop = s.params.text("crop");
    if (crop != "centre" && crop != "center" && crop != "random")
      throw std::invalid_argument("param crop is \"" + crop + "\": use centre or random");
    for (const char* param : {"channels_a", "channels_b"})
      if (s.params.integer(param) == 2)
        throw std::invalid_argument(std::string("param ") + param + " is 2: use 1 or 3");
    if (resize_ < size_)
      throw std::invalid_argument("param resize (" + std::to_string(resize_) +
                                  ") is smaller than param size (" + std::to_string(size_) +
                                  "): the crop would not fit");
    const std::string split = s.params.text("split");
    if (split != "all" && split != "train" && split != "test")
      throw std::invalid_argument("param split is \"" + split + "\": use all, train or test");
    const auto a = images_by_name(s.params.text("folder_a"), "folder_a");
    const auto b = images_by_name(s.params.text("folder_b"), "folder_b");
    if (a.empty()) throw std::invalid_argument(s.params.text("folder_a") + " holds no image files");
    const std::string separator = s.params.text("group_separator");
    const int64_t test_every = s.params.integer("test_every");
    std::string last_group;
    int64_t group = -1;
    for (const auto& [name, file] : a) {
      const auto partner = b.find(name);
      if (partner == b.end()) continue;
      // Groups are counted over the paired names, so the split does not depend on strays.
      const std::string g = separator.empty() ? name : name.substr(0, name.find(separator));
      if (group < 0 || g != last_group) ++group, last_group = g;
      if (split != "all" && ((group % test_every == 0) != (split == "test"))) continue;
      files_a_.push_back(file);
      files_b_.push_back(partner->second);
    }
    if (files_a_.empty())
      throw std::invalid_argument(
          "no image of " + s.params.text("folder_a") + " has a partner of the same name in " +
          s.params.text("folder_b") +
          (split == "all" ? std::string() : " on the " + split + " side of the split"));
    order_items(s, static_cast<int64_t>(files_a_.size()), batch_);
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    std::vector<uint64_t> ids;
    const std::vector<int64_t> items = order_->next(batch_, &ids);
    const int64_t count = static_cast<int64_t>(items.size());
    auto a = torch::empty({count, channels_a_, size_, size_}, torch::kFloat);
    auto b = torch::empty({count, channels_b_, size_, size_}, torch::kFloat);
    parallel_decode(count, threads_, [&](int64_t i) {
      std::mt19937_64 rng = order_->item_rng(ids[i]);
      int top = static_cast<int>(resize_ - size_) / 2, left = top;
      if (random_crop_) {
        top = static_cast<int>(rng() % static_cast<uint64_t>(resize_ - size_ + 1));
        left = static_cast<int>(rng() % static_cast<uint64_t>(resize_ - size_ + 1));
      }
      const bool flip = flip_ && (rng() & 1);
      decode(files_a_[items[i]], top, left, flip, channels_a_, a[i]);
      decode(files_b_[items[i]], top, left, flip, channels_b_, b[i]);
    });
    return {{"a", a}, {"b", b}};
  }

 private:
  void decode(const std::string& file, int top, int left, bool flip, int64_t channels,
              torch::Tensor out) const {
    cv::Mat image = images::read_rgb(file, background_);
    const int side = static_cast<int>(resize_);
    if (image.rows != side || image.cols != side)
      cv::resize(image, image, cv::Size(side, side), 0, 0,
                 side < image.rows ? cv::INTER_AREA : cv::INTER_LINEAR);
    const int s = static_cast<int>(size_);
    cv::Mat crop = image(cv::Rect(left, top, s, s)).clone();
    if (flip) cv::flip(crop, crop, 1);
    images::to_tensor(crop, static_cast<int>(channels), out);
  }

  int64_t size_, resize_;
  bool random_crop_, flip_;
  int64_t channels_a_, channels_b_;
  images::Colour background_;
  int64_t batch_, threads_;
  std::vector<std::string> files_a_, files_b_;
};

}  // namespace ganglion::data

void register_paired_images(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::PairedImages>());
}
