#include "images/image_decode.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <vector>

namespace ganglion::images {

Colour parse_colour(const std::string& text, const std::string& param) {
  if (text == "white") return {255, 255, 255};
  if (text == "black") return {0, 0, 0};
  if (text == "gray" || text == "grey") return {128, 128, 128};
  if (text.size() == 7 && text[0] == '#' &&
      text.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos) {
    Colour rgb{};
    for (int i = 0; i < 3; ++i) rgb[i] = std::stoi(text.substr(1 + 2 * i, 2), nullptr, 16);
    return rgb;
  }
  throw std::invalid_argument("param " + param + " is \"" + text +
                              "\": use white, black, gray or a colour as #rrggbb");
}

cv::Mat read_rgb(const std::string& file, const Colour& background) {
  cv::Mat image = cv::imread(file, cv::IMREAD_UNCHANGED);
  if (image.empty()) throw std::runtime_error(file + ": does not decode as an image (OpenCV cannot read it)");
  if (image.depth() != CV_8U) image.convertTo(image, CV_8U, image.depth() == CV_16U ? 1.0 / 257 : 1.0);
  cv::Mat rgb, alpha;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
      cv::extractChannel(image, alpha, 3);
      break;
    default:
      throw std::runtime_error(file + ": has " + std::to_string(image.channels()) + " channels");
  }
  cv::Mat composite;
  rgb.convertTo(composite, CV_32FC3);
  if (!alpha.empty()) {
    cv::Mat a;
    alpha.convertTo(a, CV_32F, 1.0 / 255);
    cv::Mat a3;
    cv::merge(std::vector<cv::Mat>{a, a, a}, a3);
    const cv::Mat back(composite.size(), CV_32FC3, cv::Scalar(background[0], background[1], background[2]));
    const cv::Mat rest = cv::Scalar::all(1.0) - a3;
    composite = composite.mul(a3) + back.mul(rest);
  }
  return composite;
}

void to_tensor(const cv::Mat& rgb, int channels, torch::Tensor out) {
  cv::Mat m = rgb;
  if (channels == 1) cv::cvtColor(rgb, m, cv::COLOR_RGB2GRAY);
  if (!m.isContinuous()) m = m.clone();
  auto hwc = torch::from_blob(m.data, {m.rows, m.cols, channels}, torch::kFloat);
  out.copy_(hwc.permute({2, 0, 1}).div(127.5).sub(1.0));
}

bool has_image_extension(const std::string& path) {
  static const std::set<std::string> extensions{".jpg",  ".jpeg", ".png", ".bmp", ".tif",
                                                ".tiff", ".webp", ".ppm", ".pgm", ".pbm"};
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return extensions.count(ext) != 0;
}

}  // namespace ganglion::images
