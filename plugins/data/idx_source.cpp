// data/idx: batches of images (and optionally labels) from IDX files such as MNIST's.
#include <ganglion/plugin.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <sstream>

#include "data/idx_file.h"

namespace ganglion::data {

class IdxSource : public Source {
 public:
  static Contract contract() {
    return Contract("data/idx", NodeKind::Source)
        .doc("image batches from IDX files (MNIST, Fashion-MNIST), gzipped or not, scaled to [-1, 1]")
        .output("image", DType::Float, "B,C,H,W", "images in [-1, 1], C = 1")
        .output("label", DType::Long, "B", "labels (zeros when no label file is given)")
        .param_path("images", {}, "IDX file of images (N,H,W), e.g. train-images-idx3-ubyte")
        .param_path("labels", std::string(), "IDX file of labels (N); empty for none")
        .param_int("batch", 64, 1, 1 << 20, "images per batch")
        .param_int("limit", 0, 0, {}, "use only the first N images (0 = all)")
        .param_bool("shuffle", true, "reshuffle every epoch (from the graph's seed)")
        .param_bool("drop_last", true, "skip the last, smaller batch of an epoch");
  }

  explicit IdxSource(const NodeSetup& s)
      : batch_(s.params.integer("batch")),
        shuffle_(s.params.flag("shuffle")),
        drop_last_(s.params.flag("drop_last")),
        seed_(s.seed) {
    images_ = read_idx_u8(s.params.text("images"));
    if (images_.dim() != 3)
      throw std::runtime_error(s.params.text("images") + ": expected images of rank 3 (N,H,W), found rank " +
                               std::to_string(images_.dim()));
    const auto& label_path = s.params.text("labels");
    if (!label_path.empty()) {
      labels_ = read_idx_u8(label_path);
      if (labels_.dim() != 1)
        throw std::runtime_error(label_path + ": expected labels of rank 1 (N), found rank " +
                                 std::to_string(labels_.dim()));
      if (labels_.size(0) != images_.size(0))
        throw std::runtime_error(label_path + ": has " + std::to_string(labels_.size(0)) + " labels for " +
                                 std::to_string(images_.size(0)) + " images");
    }
    int64_t n = images_.size(0);
    if (s.params.integer("limit") > 0) n = std::min(n, s.params.integer("limit"));
    // Shard by rank: each process sees every world_size-th image.
    for (int64_t i = s.rank; i < n; i += s.world_size) indices_.push_back(i);
    if (static_cast<int64_t>(indices_.size()) < batch_ && drop_last_)
      throw std::runtime_error("param batch (" + std::to_string(batch_) + ") is larger than the " +
                               std::to_string(indices_.size()) + " images available");
    start_epoch(0);
  }

  bool prefetchable() const override { return true; }

  TensorMap next(const TensorMap&, RunContext&) override { return draw(); }

  std::string position() const override { return std::to_string(epoch_) + " " + std::to_string(cursor_); }
  void seek(const std::string& position) override {
    std::istringstream in(position);
    int64_t epoch = 0, cursor = 0;
    if (!(in >> epoch >> cursor) || epoch < 0 || cursor < 0 || cursor > static_cast<int64_t>(indices_.size()))
      throw std::runtime_error("invalid data position \"" + position + "\"");
    start_epoch(epoch);
    cursor_ = cursor;
  }

 private:
  TensorMap draw() {
    const int64_t n = static_cast<int64_t>(order_.size());
    if (cursor_ >= n || (drop_last_ && cursor_ + batch_ > n)) start_epoch(epoch_ + 1);
    const int64_t count = std::min(batch_, n - cursor_);
    auto idx = torch::from_blob(order_.data() + cursor_, {count}, torch::kLong);
    cursor_ += count;
    auto images = images_.index_select(0, idx).unsqueeze(1).to(torch::kFloat);
    images.div_(127.5).sub_(1.0);
    auto labels = labels_.defined() ? labels_.index_select(0, idx).to(torch::kLong)
                                    : torch::zeros({count}, torch::kLong);
    return {{"image", images}, {"label", labels}};
  }

  void start_epoch(int64_t epoch) {
    epoch_ = epoch;
    cursor_ = 0;
    order_ = indices_;
    if (shuffle_) {
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
      // Fisher-Yates by hand: std::shuffle's sequence differs between standard libraries.
      for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng() % i]);
    }
  }

  int64_t batch_;
  bool shuffle_, drop_last_;
  uint64_t seed_;
  torch::Tensor images_, labels_;
  std::vector<int64_t> indices_, order_;
  int64_t epoch_ = 0, cursor_ = 0;
};

}  // namespace ganglion::data

void register_gaussian_mixture(ganglion::TypeRegistrar&);
void register_leaf(ganglion::TypeRegistrar&);
void register_stroke_thickness(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("data", GANGLION_VERSION) {
  registrar.add(ganglion::node_type<ganglion::data::IdxSource>());
  register_gaussian_mixture(registrar);
  register_leaf(registrar);
  register_stroke_thickness(registrar);
}
