// io/png-grid: writes a batch of images in [-1, 1] as one PNG grid.
#include <png.h>

#include <ganglion/plugin.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace ganglion::io {

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

/// (H, W, C) uint8, C in {1, 3, 4}.
void write_png(const torch::Tensor& hwc, const std::string& path) {
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) throw std::runtime_error(path + ": cannot open for writing");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw std::runtime_error("libpng: out of memory");
  }
  // libpng reports errors by longjmp; nothing with a destructor is created after this point.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error(path + ": libpng failed to write the image");
  }
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1));
  const int c = static_cast<int>(hwc.size(2));
  const int color = c == 1 ? PNG_COLOR_TYPE_GRAY : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
  png_init_io(png, file.get());
  png_set_IHDR(png, info, w, h, 8, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const uint8_t* data = hwc.data_ptr<uint8_t>();
  for (int y = 0; y < h; ++y)
    png_write_row(png, const_cast<png_bytep>(data + static_cast<size_t>(y) * w * c));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(file.get()) != 0) throw std::runtime_error(path + ": write failed");
}

}  // namespace

class PngGridWriter : public Writer {
 public:
  static Contract contract() {
    return Contract("io/png-grid", NodeKind::Writer)
        .default_writer()
        .row_length_param("columns")
        .doc("a batch of images in [-1, 1] as one PNG grid")
        .input("value", DType::Float, "B,C,H,W", "images, C = 1, 3 or 4")
        .param_int("columns", 0, 0, 1024, "images per row (0 = the square root of the batch)")
        .param_int("padding", 2, 0, 64, "pixels between images");
  }
  explicit PngGridWriter(const NodeSetup& s)
      : columns_(s.params.integer("columns")), padding_(s.params.integer("padding")) {}

  std::string extension() const override { return ".png"; }

  void write(const torch::Tensor& value, const std::string& path) override {
    if (value.dim() != 4 || (value.size(1) != 1 && value.size(1) != 3 && value.size(1) != 4))
      throw std::invalid_argument("expected images (B,C,H,W) with C = 1, 3 or 4");
    auto x = value.detach().to(torch::kCPU, torch::kFloat);
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const int64_t cols = columns_ > 0 ? columns_ : static_cast<int64_t>(std::ceil(std::sqrt(double(b))));
    const int64_t rows = (b + cols - 1) / cols, p = padding_;
    auto grid = torch::zeros({c, rows * (h + p) + p, cols * (w + p) + p});
    for (int64_t i = 0; i < b; ++i) {
      const int64_t r = i / cols, q = i % cols;
      grid.narrow(1, p + r * (h + p), h).narrow(2, p + q * (w + p), w).copy_(x[i]);
    }
    auto bytes = ((grid.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8);
    write_png(bytes.permute({1, 2, 0}).contiguous(), path);
  }

 private:
  int64_t columns_, padding_;
};

}  // namespace ganglion::io

GANGLION_PLUGIN("io", GANGLION_VERSION) { registrar.add(ganglion::node_type<ganglion::io::PngGridWriter>()); }
