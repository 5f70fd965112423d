// io/video: writes frames in [-1, 1] as a Motion-JPEG AVI through OpenCV's own MJPEG encoder,
// which needs no FFmpeg or GStreamer at run time, so the file is the same on every machine.
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <ganglion/plugin.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace ganglion::io {

class VideoWriter : public Writer {
 public:
  static Contract contract() {
    return Contract("io/video", NodeKind::Writer)
        .doc("frames in [-1, 1] as a Motion-JPEG AVI video (OpenCV's built-in encoder), one frame per row")
        .input("value", DType::Float, "T,C,H,W", "frames, C = 1, 3 or 4 (alpha is dropped)")
        .param_int("fps", 30, 1, 240, "frames per second")
        .param_int("quality", 95, 1, 100, "JPEG quality of each frame");
  }
  explicit VideoWriter(const NodeSetup& s)
      : fps_(s.params.integer("fps")), quality_(s.params.integer("quality")) {}

  std::string extension() const override { return ".avi"; }

  void write(const torch::Tensor& value, const std::string& path) override {
    if (value.dim() != 4 || (value.size(1) != 1 && value.size(1) != 3 && value.size(1) != 4))
      throw std::invalid_argument("expected frames (T,C,H,W) with C = 1, 3 or 4, got " +
                                  c10::str(value.sizes()));
    if (value.size(0) == 0) throw std::invalid_argument("no frames to write");
    const auto frames = ((value.detach().to(torch::kCPU, torch::kFloat).clamp(-1, 1) + 1) * 127.5)
                            .round()
                            .to(torch::kUInt8)
                            .permute({0, 2, 3, 1})
                            .contiguous();
    // OpenCV's MJPEG backend takes only a name ending in .avi (an atomic write's is FILE.avi.tmp).
    const bool named_avi = path.size() >= 4 && path.compare(path.size() - 4, 4, ".avi") == 0;
    const std::string file = named_avi ? path : path + ".avi";
    write_frames(frames, file);
    if (file != path) std::filesystem::rename(file, path);
  }

 private:
  void write_frames(const torch::Tensor& frames, const std::string& path) const {
    const int h = static_cast<int>(frames.size(1)), w = static_cast<int>(frames.size(2));
    const int c = static_cast<int>(frames.size(3));
    cv::VideoWriter video(path, cv::CAP_OPENCV_MJPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                          static_cast<double>(fps_), cv::Size(w, h), true);
    if (!video.isOpened()) throw std::runtime_error(path + ": OpenCV cannot open it for an MJPEG video");
    video.set(cv::VIDEOWRITER_PROP_QUALITY, static_cast<double>(quality_));
    cv::Mat bgr;
    for (int64_t t = 0; t < frames.size(0); ++t) {
      const cv::Mat frame(h, w, CV_8UC(c), frames[t].data_ptr<uint8_t>());
      cv::cvtColor(frame, bgr, c == 1 ? cv::COLOR_GRAY2BGR : c == 3 ? cv::COLOR_RGB2BGR : cv::COLOR_RGBA2BGR);
      video.write(bgr);
    }
    video.release();
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) == 0 || ec) {
      std::filesystem::remove(path, ec);
      throw std::runtime_error(path + ": OpenCV wrote no video (is the disk full?)");
    }
  }

  int64_t fps_, quality_;
};

}  // namespace ganglion::io

void register_video_writer(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::io::VideoWriter>());
}
