// data/npy: batches of images from NumPy arrays (.npy), such as scikit-image's LFW faces: any
// element type scaled to [-1, 1], N,H,W or N,H,W,C or N,C,H,W, a slice of rows, an optional label
// array, optional resizing and left-right flips. Flips are drawn per image from the graph's seed
// and the image's place in the run, so they repeat exactly on resume.
#include <ganglion/plugin.h>

#include "data/npy_file.h"
#include "data/ordered_source.h"

namespace ganglion::data {

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s + ")";
}

/// "START:STOP" (either may be empty) as a half-open row range of an array of n rows.
std::pair<int64_t, int64_t> row_range(const std::string& text, int64_t n) {
  if (text.empty()) return {0, n};
  const auto colon = text.find(':');
  const auto bad = [&] {
    return std::invalid_argument("param rows is \"" + text +
                                 "\": use START:STOP, e.g. \"0:100\" (either may be empty)");
  };
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) throw bad();
  const auto parse = [&](const std::string& part, int64_t fallback) -> int64_t {
    if (part.empty()) return fallback;
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used != part.size() || v < 0) throw bad();
    return v;
  };
  const int64_t start = parse(text.substr(0, colon), 0), stop = parse(text.substr(colon + 1), n);
  if (start >= stop || stop > n)
    throw std::invalid_argument("param rows is \"" + text + "\" but the array has " + std::to_string(n) +
                                " rows: give 0 <= START < STOP <= " + std::to_string(n));
  return {start, stop};
}

}  // namespace

class NpySource : public OrderedSource {
 public:
  static Contract contract() {
    return Contract("data/npy", NodeKind::Source)
        .counts_rows()
        .doc("image batches from a NumPy .npy array (N,H,W / N,H,W,C / N,C,H,W), scaled to [-1, 1]")
        .output("image", DType::Float, "B,C,H,W", "images in [-1, 1]")
        .output("label", DType::Long, "B", "labels (zeros when param labels is empty)")
        .param_path("array", {}, "the .npy file of images")
        .param_path("labels", std::string(), ".npy file of N whole-number labels; empty for none")
        .param_string("layout", std::string("auto"),
                      "nhw, nhwc, nchw, or auto: nhw for 3 dimensions; for 4, nhwc when the last has "
                      "1, 3 or 4 entries, else nchw")
        .param_string("scale", std::string("auto"),
                      "the stored values that become -1 and 1, as \"LOW,HIGH\"; auto: 0,255 for uint8, "
                      "0,1 for floats within [0, 1], -1,1 for floats within [-1, 1]")
        .param_string("rows", std::string(), "a slice START:STOP of the array's rows (empty: all)")
        .param_int("size", 0, 0, 8192, "resize to size x size, bilinear (0: keep the array's size)")
        .param_bool("flip", false, "flip each image left-right with probability 1/2")
        .param_int("batch", 64, 1, 1 << 20, "images per batch")
        .param_bool("shuffle", true, "reshuffle every epoch (from the graph's seed)")
        .param_bool("drop_last", true, "skip the last, smaller batch of an epoch");
  }

  explicit NpySource(const NodeSetup& s) : batch_(s.params.integer("batch")), flip_(s.params.flag("flip")) {
    const std::string& path = s.params.text("array");
    torch::Tensor array = read_npy(path);
    images_ = to_nchw(array, s.params.text("layout"), path);
    // Scaled before slicing: `auto` looks at the whole array, so two slices of it (a training and
    // a test part) are scaled alike.
    images_ = scaled(images_, s.params.text("scale"), path);
    const auto [start, stop] = row_range(s.params.text("rows"), images_.size(0));
    images_ = images_.slice(0, start, stop);
    if (const int64_t size = s.params.integer("size");
        size > 0 && (images_.size(2) != size || images_.size(3) != size))
      images_ = torch::upsample_bilinear2d(images_, {size, size}, /*align_corners=*/false).clamp_(-1, 1);
    images_ = images_.contiguous();

    const std::string& label_path = s.params.text("labels");
    if (!label_path.empty()) {
      auto labels = read_npy(label_path);
      if (labels.dim() != 1)
        throw std::invalid_argument(label_path + ": labels must have shape (N), found " + shape_of(labels));
      if (labels.is_floating_point() &&
          !(labels.isfinite().all().item<bool>() && torch::equal(labels, labels.round())))
        throw std::invalid_argument(label_path + ": labels must be whole numbers");
      labels = labels.to(torch::kLong);
      if (labels.size(0) != array.size(0))
        throw std::invalid_argument(label_path + ": has " + std::to_string(labels.size(0)) + " labels for " +
                                    std::to_string(array.size(0)) + " images in " + path);
      labels_ = labels.slice(0, start, stop).contiguous();
      if (labels_.numel() > 0 && labels_.min().item<int64_t>() < 0)
        throw std::invalid_argument(label_path + ": holds a negative label; classes are numbered from 0");
    }
    order_items(s, images_.size(0), batch_);
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    std::vector<uint64_t> ids;
    std::vector<int64_t> items = order_->next(batch_, &ids);
    const int64_t count = static_cast<int64_t>(items.size());
    const auto index = torch::tensor(items, torch::kLong);
    auto images = images_.index_select(0, index);
    if (flip_)
      for (int64_t i = 0; i < count; ++i) {
        if (order_->item_rng(ids[i])() & 1) images[i] = images[i].flip({2});
      }
    auto labels = labels_.defined() ? labels_.index_select(0, index) : torch::zeros({count}, torch::kLong);
    return {{"image", images}, {"label", labels}};
  }

 private:
  static torch::Tensor to_nchw(const torch::Tensor& a, std::string layout, const std::string& path) {
    if (layout == "auto") {
      if (a.dim() == 3)
        layout = "nhw";
      else if (a.dim() == 4)
        layout = (a.size(3) == 1 || a.size(3) == 3 || a.size(3) == 4) ? "nhwc" : "nchw";
      else
        throw std::invalid_argument(path + ": an array of shape " + shape_of(a) +
                                    " is not a stack of images (N,H,W / N,H,W,C / N,C,H,W)");
    }
    const int64_t rank = layout == "nhw" ? 3 : 4;
    if (layout != "nhw" && layout != "nhwc" && layout != "nchw")
      throw std::invalid_argument("param layout is \"" + layout + "\": use auto, nhw, nhwc or nchw");
    if (a.dim() != rank)
      throw std::invalid_argument(path + ": layout " + layout + " needs " + std::to_string(rank) +
                                  " dimensions, the array has shape " + shape_of(a));
    if (a.size(0) == 0) throw std::invalid_argument(path + ": the array holds no images");
    if (layout == "nhw") return a.unsqueeze(1);
    if (layout == "nhwc") return a.permute({0, 3, 1, 2});
    return a;
  }

  static torch::Tensor scaled(const torch::Tensor& a, const std::string& scale, const std::string& path) {
    double low = 0, high = 0;
    if (scale == "auto") {
      if (a.scalar_type() == torch::kByte) {
        low = 0, high = 255;
      } else if (a.is_floating_point()) {
        const double lo = a.min().item<double>(), hi = a.max().item<double>();
        if (lo >= 0 && hi <= 1)
          low = 0, high = 1;
        else if (lo >= -1 && hi <= 1)
          low = -1, high = 1;
        else
          throw std::invalid_argument(path + ": values run from " + std::to_string(lo) + " to " +
                                      std::to_string(hi) + "; say which become -1 and 1 with param scale, " +
                                      "e.g. \"" + std::to_string(lo) + "," + std::to_string(hi) + "\"");
      } else {
        throw std::invalid_argument(path + ": param scale auto knows uint8 and float arrays; for " +
                                    std::string(c10::toString(a.scalar_type())) +
                                    " say which values become -1 and 1, e.g. \"0,65535\"");
      }
    } else {
      const auto comma = scale.find(',');
      size_t used_low = 0, used_high = 0;
      bool ok = comma != std::string::npos;
      if (ok) try {
          low = std::stod(scale.substr(0, comma), &used_low);
          high = std::stod(scale.substr(comma + 1), &used_high);
          ok = used_low == comma && used_high == scale.size() - comma - 1 && high > low;
        } catch (const std::exception&) {
          ok = false;
        }
      if (!ok)
        throw std::invalid_argument("param scale is \"" + scale +
                                    "\": use auto or LOW,HIGH with LOW < HIGH, e.g. \"0,255\"");
    }
    return a.to(torch::kFloat).sub(low).mul_(2.0 / (high - low)).sub_(1.0);
  }

  int64_t batch_;
  bool flip_;
  torch::Tensor images_, labels_;
};

}  // namespace ganglion::data

void register_npy_source(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::NpySource>());
}
