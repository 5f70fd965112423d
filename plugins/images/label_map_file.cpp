// data/label-map-file: one label map read from a file as a batch of one, what `ganglion translate`
// feeds SPADE's generator: a map painted with the palette's colours (each pixel the class of its
// nearest colour, so anti-aliased edges still land in a class), or an integer map (a one-channel
// PNG whose values are the classes). Resized by nearest neighbour, which never mixes classes.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <ganglion/plugin.h>

#include "common/palette.h"
#include "images/image_decode.h"

namespace ganglion::data {

class LabelMapFile : public Source {
 public:
  static Contract contract() {
    return Contract("data/label-map-file", NodeKind::Source)
        .doc("one label map file (painted in the palette's colours, or integer classes) as one-hot channels")
        .output("one_hot", DType::Float, "B,K,H,W", "the map as K one-hot channels, B = 1")
        .output("labels", DType::Long, "B,H,W", "the class of each pixel")
        .output("colours", DType::Float, "B,3,H,W", "each pixel its class's colour")
        .param_path("file", {}, "the label map (PNG, or any format OpenCV reads)")
        .param_string("palette", std::string("emoji"),
                      "the classes and their colours, as data/palette-labels'")
        .param_string("format", std::string("colours"),
                      "colours (painted with the palette's colours) or integers (one channel, value = class)")
        .param_string("fit", std::string("resize"), "resize (to size x size) or native (as it is)")
        .param_int("size", 64, 1, 16384, "side the map is resized to (nearest neighbour)")
        .param_int("multiple", 1, 1, 4096, "crop (centred) to a multiple of this on each side");
  }

  explicit LabelMapFile(const NodeSetup& s)
      : file_(s.params.text("file")),
        palette_(parse_palette(s.params.text("palette"))),
        format_(s.params.text("format")),
        fit_(s.params.text("fit")),
        size_(s.params.integer("size")),
        multiple_(s.params.integer("multiple")) {
    if (format_ != "colours" && format_ != "integers")
      throw std::invalid_argument("param format is \"" + format_ + "\": use colours or integers");
    if (fit_ != "resize" && fit_ != "native")
      throw std::invalid_argument("param fit is \"" + fit_ + "\": use resize or native");
  }

  TensorMap next(const TensorMap&, RunContext& context) override {
    const auto classes = static_cast<int64_t>(palette_.size());
    const auto colours = palette_colours(palette_);
    cv::Mat labels;  // CV_32S, a class a pixel
    if (format_ == "colours") {
      cv::Mat rgb = images::read_rgb(file_, {255, 255, 255});
      auto image = torch::empty({1, 3, rgb.rows, rgb.cols});
      images::to_tensor(rgb, 3, image[0]);
      const auto l = nearest_class(image, colours)[0].to(torch::kInt).contiguous();
      labels = cv::Mat(rgb.rows, rgb.cols, CV_32S, l.data_ptr<int>()).clone();
    } else {
      cv::Mat m = cv::imread(file_, cv::IMREAD_UNCHANGED);
      if (m.empty())
        throw std::runtime_error(file_ + ": does not decode as an image (OpenCV cannot read it)");
      if (m.channels() != 1)
        throw std::runtime_error(file_ + ": has " + std::to_string(m.channels()) +
                                 " channels; an integer label map has one (its value is the class)");
      m.convertTo(labels, CV_32S);
      double low = 0, high = 0;
      cv::minMaxLoc(labels, &low, &high);
      if (high >= static_cast<double>(classes))
        throw std::runtime_error(file_ + ": holds class " + std::to_string(static_cast<long long>(high)) +
                                 " but the palette has " + std::to_string(classes) + " (0.." +
                                 std::to_string(classes - 1) + ")");
    }
    if (fit_ == "resize" && (labels.rows != size_ || labels.cols != size_))
      cv::resize(labels, labels, cv::Size(static_cast<int>(size_), static_cast<int>(size_)), 0, 0,
                 cv::INTER_NEAREST);
    const int m = static_cast<int>(multiple_), rows = labels.rows / m * m, cols = labels.cols / m * m;
    if (rows == 0 || cols == 0)
      throw std::runtime_error(file_ + ": " + std::to_string(labels.rows) + "x" +
                               std::to_string(labels.cols) + " is smaller than param multiple (" +
                               std::to_string(m) + ")");
    labels = labels(cv::Rect((labels.cols - cols) / 2, (labels.rows - rows) / 2, cols, rows)).clone();
    const auto l = torch::from_blob(labels.data, {1, rows, cols}, torch::kInt).to(torch::kLong);
    return {{"one_hot", one_hot_maps(l, classes).to(context.device())},
            {"labels", l.to(context.device())},
            {"colours", colour_maps(l, colours).to(context.device())}};
  }

 private:
  std::string file_;
  std::vector<PaletteClass> palette_;
  std::string format_, fit_;
  int64_t size_, multiple_;
};

}  // namespace ganglion::data

void register_label_map_file(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::LabelMapFile>());
}
