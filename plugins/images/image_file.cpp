// data/image-file: one image file as a batch of one, the reader `ganglion translate` makes for each
// of a user's images (its param `file` set to the image). The image is resized to size x size, or
// kept at its own size for a net that takes any (translate can then cut it into tiles).
#include <opencv2/imgproc.hpp>

#include <ganglion/plugin.h>

#include <algorithm>
#include <cmath>

#include "images/image_decode.h"

namespace ganglion::data {

class ImageFile : public Source {
 public:
  static Contract contract() {
    return Contract("data/image-file", NodeKind::Source)
        .doc(
            "one image file as a batch of one, in [-1, 1]: what ganglion translate reads a user's image with")
        .output("image", DType::Float, "B,C,H,W", "the image, B = 1")
        .param_path("file", {}, "the image (any format OpenCV reads: PNG, JPEG, BMP, TIFF, WebP, PPM)")
        .param_string("fit", std::string("resize"),
                      "resize (to size x size), short-side (the shorter side to size, the aspect kept) or "
                      "native (as it is)")
        .param_int("size", 64, 1, 16384, "side the image is resized to (fit resize or short-side)")
        .param_int("multiple", 1, 1, 4096,
                   "crop the image (centred) to a multiple of this on each side, as a net that halves "
                   "its input N times needs 2^N")
        .param_int("channels", 3, 1, 3, "3 (RGB) or 1 (grayscale)")
        .param_string("background", std::string("white"),
                      "colour transparent parts show: white, black, gray or #rrggbb");
  }

  explicit ImageFile(const NodeSetup& s)
      : file_(s.params.text("file")),
        fit_(s.params.text("fit")),
        size_(s.params.integer("size")),
        multiple_(s.params.integer("multiple")),
        channels_(s.params.integer("channels")),
        background_(images::parse_colour(s.params.text("background"))) {
    if (fit_ != "resize" && fit_ != "short-side" && fit_ != "native")
      throw std::invalid_argument("param fit is \"" + fit_ + "\": use resize, short-side or native");
    if (channels_ == 2) throw std::invalid_argument("param channels is 2: use 1 or 3");
  }

  TensorMap next(const TensorMap&, RunContext& context) override {
    cv::Mat image = images::read_rgb(file_, background_);
    int rows = image.rows, cols = image.cols;
    if (fit_ == "resize") {
      rows = cols = static_cast<int>(size_);
    } else if (fit_ == "short-side") {
      const double scale = static_cast<double>(size_) / std::min(rows, cols);
      rows = std::max<int>(1, static_cast<int>(std::lround(rows * scale)));
      cols = std::max<int>(1, static_cast<int>(std::lround(cols * scale)));
    }
    if (rows != image.rows || cols != image.cols)
      cv::resize(image, image, cv::Size(cols, rows), 0, 0,
                 rows < image.rows ? cv::INTER_AREA : cv::INTER_LINEAR);
    const int m = static_cast<int>(multiple_);
    const int keep_rows = rows / m * m, keep_cols = cols / m * m;
    if (keep_rows == 0 || keep_cols == 0)
      throw std::runtime_error(file_ + ": " + std::to_string(rows) + "x" + std::to_string(cols) +
                               " is smaller than param multiple (" + std::to_string(m) + ")");
    image = image(cv::Rect((cols - keep_cols) / 2, (rows - keep_rows) / 2, keep_cols, keep_rows)).clone();
    auto out = torch::empty({1, channels_, keep_rows, keep_cols}, torch::kFloat);
    images::to_tensor(image, static_cast<int>(channels_), out[0]);
    return {{"image", out.to(context.device())}};
  }

 private:
  std::string file_, fit_;
  int64_t size_, multiple_, channels_;
  images::Colour background_;
};

}  // namespace ganglion::data

void register_image_file(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::ImageFile>());
}
