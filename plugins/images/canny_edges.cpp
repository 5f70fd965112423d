// data/canny-edges: the edges of images, found by OpenCV's Canny detector as a training batch
// passes: pix2pix's edges -> photo task (edges2shoes) made from any image set, here the emoji.
// Dark lines on white by default, as edges2shoes draws them, so that a user's pen drawing on
// white paper is the same kind of input.
#include <opencv2/imgproc.hpp>

#include <ganglion/plugin.h>

namespace ganglion::data {

class CannyEdges : public Function {
 public:
  static Contract contract() {
    return Contract("data/canny-edges", NodeKind::Function)
        .doc(
            "Canny edges of images in [-1, 1] (OpenCV), one channel: -1 on an edge, 1 elsewhere (or "
            "inverted)")
        .input("image", DType::Float, "B,C,H,W", "images in [-1, 1], C = 1 or 3")
        .output("edges", DType::Float, "B,1,H,W", "the edge map in [-1, 1]")
        .param_float("low", 100.0, 0.0, 10000.0, "Canny's lower hysteresis threshold (on 0..255 gray levels)")
        .param_float("high", 200.0, 0.0, 10000.0, "Canny's upper threshold: edges start above it")
        .param_int("blur", 3, 0, 31, "Gaussian blur of this odd kernel size before (0: none)")
        .param_bool("dark_lines", true, "edges dark on white (edges2shoes); false: white on black");
  }
  explicit CannyEdges(const NodeSetup& s)
      : low_(s.params.real("low")),
        high_(s.params.real("high")),
        blur_(static_cast<int>(s.params.integer("blur"))),
        dark_(s.params.flag("dark_lines")) {
    if (blur_ > 0 && blur_ % 2 == 0)
      throw std::invalid_argument("param blur is " + std::to_string(blur_) + ": use an odd size, or 0");
    if (low_ > high_)
      throw std::invalid_argument("param low (" + std::to_string(low_) + ") is above param high (" +
                                  std::to_string(high_) + ")");
  }

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& images = in.at("image");
    if (images.size(1) != 1 && images.size(1) != 3)
      throw std::invalid_argument("image has " + std::to_string(images.size(1)) + " channels: give 1 or 3");
    // 8-bit gray levels, as Canny takes them (luma weights of OpenCV's RGB2GRAY).
    auto gray = images.detach().to(torch::kCPU, torch::kFloat).add(1).mul(127.5).clamp(0, 255);
    if (gray.size(1) == 3) {
      const auto w = torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1});
      gray = (gray * w).sum(1, true);
    }
    const auto bytes = gray.round().to(torch::kUInt8).contiguous();
    const int h = static_cast<int>(images.size(2)), w = static_cast<int>(images.size(3));
    auto out = torch::empty({images.size(0), 1, h, w}, torch::kFloat);
    for (int64_t i = 0; i < images.size(0); ++i) {
      cv::Mat src(h, w, CV_8UC1, bytes[i][0].data_ptr<uint8_t>()), edges;
      if (blur_ > 0)
        cv::GaussianBlur(src, edges, cv::Size(blur_, blur_), 0);
      else
        edges = src.clone();
      cv::Canny(edges, edges, low_, high_);
      const auto e = torch::from_blob(edges.data, {h, w}, torch::kUInt8).to(torch::kFloat).div(255);
      out[i][0].copy_(dark_ ? 1 - 2 * e : 2 * e - 1);
    }
    return {{"edges", out.to(images.device())}};
  }

 private:
  double low_, high_;
  int blur_;
  bool dark_;
};

}  // namespace ganglion::data

void register_canny_edges(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::CannyEdges>());
}
