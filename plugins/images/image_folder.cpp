// data/image-folder: batches of images decoded by OpenCV from a folder tree (JPEG, PNG, BMP, TIFF,
// WebP, PPM/PGM), resized so the shorter side is `resize`, cropped square to `size` (centre or
// random) and optionally flipped, in grayscale or RGB. Labels come from the sub-folder names or a
// CSV file. Each batch is decoded by `threads` threads; the engine's prefetcher runs the whole
// source a batch ahead of training. Crops and flips are drawn per image from the graph's seed and
// the image's place in the run, so they repeat exactly on resume, whatever the thread count.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <ganglion/plugin.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "data/ordered_source.h"
#include "images/image_decode.h"
#include "images/parallel_decode.h"

namespace fs = std::filesystem;

namespace ganglion::data {

namespace {

std::string trim(std::string s) {
  const auto space = [](unsigned char c) { return std::isspace(c); };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
  return s;
}

/// Class names to indices: whole numbers stand for themselves when every name is one; otherwise
/// the sorted distinct names are numbered from 0.
std::vector<int64_t> label_indices(const std::vector<std::string>& names) {
  std::vector<int64_t> out;
  bool numeric = true;
  for (const auto& n : names) {
    size_t used = 0;
    try {
      const long long v = std::stoll(n, &used);
      numeric = numeric && used == n.size() && v >= 0;
    } catch (const std::exception&) {
      numeric = false;
    }
    if (!numeric) break;
  }
  if (numeric) {
    for (const auto& n : names) out.push_back(std::stoll(n));
    return out;
  }
  std::map<std::string, int64_t> index;
  for (const auto& n : names) index[n] = 0;
  int64_t next = 0;
  for (auto& [name, i] : index) i = next++;
  for (const auto& n : names) out.push_back(index.at(n));
  return out;
}

}  // namespace

class ImageFolder : public OrderedSource {
 public:
  static Contract contract() {
    return Contract("data/image-folder", NodeKind::Source)
        .counts_rows()
        .doc("image batches decoded with OpenCV from a folder tree, resized, cropped, flipped, in [-1, 1]")
        .output("image", DType::Float, "B,C,H,W", "images in [-1, 1], H = W = size")
        .output("label", DType::Long, "B", "class of each image (zeros when param labels is empty)")
        .param_path("folder", {}, "folder searched recursively for image files")
        .param_string("labels", std::string(),
                      "empty (none), \"folders\" (the sub-folder under `folder`, sorted names numbered from "
                      "0) or a CSV file of `path,label` lines, paths relative to `folder`")
        .param_int("size", 64, 1, 8192, "side of the square images produced")
        .param_int("resize", 0, 0, 16384, "scale so the shorter side is this before cropping (0: = size)")
        .param_string("crop", std::string("centre"), "centre or random (a random square of side `size`)")
        .param_bool("flip", false, "flip each image left-right with probability 1/2")
        .param_int("channels", 3, 1, 3, "3 (RGB) or 1 (grayscale)")
        .param_int("batch", 64, 1, 1 << 20, "images per batch")
        .param_int("limit", 0, 0, {}, "use only the first N images in sorted order (0 = all)")
        .param_int("repeat", 1, 1, 1 << 20,
                   "each image counts this many times an epoch, each time with its own random crop and flip "
                   "(one painting read as many crops)")
        .param_bool("shuffle", true, "reshuffle every epoch (from the graph's seed)")
        .param_bool("drop_last", true, "skip the last, smaller batch of an epoch")
        .param_int("threads", 2, 1, 256, "threads decoding each batch");
  }

  explicit ImageFolder(const NodeSetup& s)
      : folder_(s.params.text("folder")),
        size_(s.params.integer("size")),
        resize_(s.params.integer("resize") > 0 ? s.params.integer("resize") : s.params.integer("size")),
        random_crop_(s.params.text("crop") == "random"),
        flip_(s.params.flag("flip")),
        channels_(s.params.integer("channels")),
        batch_(s.params.integer("batch")),
        threads_(s.params.integer("threads")) {
    const auto& crop = s.params.text("crop");
    if (crop != "centre" && crop != "center" && crop != "random")
      throw std::invalid_argument("param crop is \"" + crop + "\": use centre or random");
    if (channels_ != 1 && channels_ != 3)
      throw std::invalid_argument("param channels is " + std::to_string(channels_) + ": use 1 or 3");
    if (resize_ < size_)
      throw std::invalid_argument("param resize (" + std::to_string(resize_) +
                                  ") is smaller than param size (" + std::to_string(size_) +
                                  "): the crop would not fit");
    if (!fs::is_directory(folder_))
      throw std::invalid_argument("param folder: " + folder_ + " is not a folder");
    const auto& labels = s.params.text("labels");
    if (!labels.empty() && labels != "folders")
      read_csv(labels);
    else
      scan(labels == "folders");
    if (files_.empty())
      throw std::invalid_argument(folder_ + " holds no image files (jpg, png, bmp, tif, webp, ppm, pgm)");
    // The limit counts files; repeating comes after it.
    if (s.params.integer("limit") > 0 && static_cast<int64_t>(files_.size()) > s.params.integer("limit")) {
      files_.resize(s.params.integer("limit"));
      labels_.resize(files_.size());
    }
    const size_t distinct = files_.size();
    for (int64_t r = 1; r < s.params.integer("repeat"); ++r)
      for (size_t i = 0; i < distinct; ++i) {
        files_.push_back(files_[i]);
        labels_.push_back(labels_[i]);
      }
    order_items(s, static_cast<int64_t>(files_.size()), batch_, /*limited=*/true);
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    std::vector<uint64_t> ids;
    const std::vector<int64_t> items = order_->next(batch_, &ids);
    const int64_t count = static_cast<int64_t>(items.size());
    auto images = torch::empty({count, channels_, size_, size_}, torch::kFloat);
    std::vector<int64_t> labels(count);
    parallel_decode(count, threads_, [&](int64_t i) {
      decode(files_[items[i]], ids[i], images[i]);
      labels[i] = labels_[items[i]];
    });
    return {{"image", images}, {"label", torch::tensor(labels, torch::kLong)}};
  }

 private:
  void scan(bool label_by_folder) {
    std::vector<fs::path> found;
    for (const auto& entry :
         fs::recursive_directory_iterator(folder_, fs::directory_options::follow_directory_symlink))
      if (entry.is_regular_file() && images::has_image_extension(entry.path().string()))
        found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    std::vector<std::string> names;
    for (const auto& p : found) {
      files_.push_back(p.string());
      const fs::path rel = fs::relative(p, folder_);
      if (label_by_folder) {
        if (std::distance(rel.begin(), rel.end()) < 2)
          throw std::invalid_argument("param labels is \"folders\" but " + p.string() +
                                      " is not in a sub-folder of " + folder_ +
                                      " (one sub-folder per class)");
        names.push_back(rel.begin()->string());
      }
    }
    labels_ = label_by_folder ? label_indices(names) : std::vector<int64_t>(files_.size(), 0);
  }

  void read_csv(const std::string& csv) {
    std::ifstream in(csv);
    if (!in)
      throw std::invalid_argument("param labels: cannot read " + csv + " (give \"folders\" or a CSV file)");
    std::vector<std::string> names;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      line = trim(line);
      if (line.empty() || line[0] == '#') continue;
      const auto comma = line.rfind(',');
      if (comma == std::string::npos)
        throw std::invalid_argument(csv + ":" + std::to_string(number) + ": expected path,label, found \"" +
                                    line + "\"");
      const std::string path = trim(line.substr(0, comma)), label = trim(line.substr(comma + 1));
      if (number == 1 && (label == "label" || label == "class")) continue;  // a header
      const fs::path file = fs::path(folder_) / path;
      if (!fs::is_regular_file(file))
        throw std::invalid_argument(csv + ":" + std::to_string(number) + ": no file " + file.string());
      files_.push_back(file.string());
      names.push_back(label);
    }
    labels_ = label_indices(names);
  }

  /// Decodes `file` into `out` (C x size x size, in [-1, 1]); `id` seeds its crop and flip.
  void decode(const std::string& file, uint64_t id, torch::Tensor out) const {
    cv::Mat image = cv::imread(file, channels_ == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    if (image.empty())
      throw std::runtime_error(file + ": does not decode as an image (OpenCV cannot read it)");
    if (channels_ == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
    const double scale = static_cast<double>(resize_) / std::min(image.rows, image.cols);
    const int rows =
        std::max<int>(static_cast<int>(resize_), static_cast<int>(std::lround(image.rows * scale)));
    const int cols =
        std::max<int>(static_cast<int>(resize_), static_cast<int>(std::lround(image.cols * scale)));
    if (rows != image.rows || cols != image.cols)
      cv::resize(image, image, cv::Size(cols, rows), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    std::mt19937_64 rng = order_->item_rng(id);
    int top = (rows - static_cast<int>(size_)) / 2, left = (cols - static_cast<int>(size_)) / 2;
    if (random_crop_) {
      top = static_cast<int>(rng() % static_cast<uint64_t>(rows - size_ + 1));
      left = static_cast<int>(rng() % static_cast<uint64_t>(cols - size_ + 1));
    }
    cv::Mat crop = image(cv::Rect(left, top, static_cast<int>(size_), static_cast<int>(size_))).clone();
    if (flip_ && (rng() & 1)) cv::flip(crop, crop, 1);
    // HWC bytes to CHW floats in [-1, 1].
    auto hwc = torch::from_blob(crop.data, {size_, size_, channels_}, torch::kUInt8);
    out.copy_(hwc.permute({2, 0, 1}).to(torch::kFloat).div_(127.5).sub_(1.0));
  }

  std::string folder_;
  int64_t size_, resize_;
  bool random_crop_, flip_;
  int64_t channels_, batch_, threads_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
};

}  // namespace ganglion::data

void register_image_folder(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::ImageFolder>());
}
