// data/idx: batches of images (and optionally labels) from IDX files such as MNIST's.
#include <ganglion/plugin.h>

#include "data/idx_file.h"
#include "data/ordered_source.h"

namespace ganglion::data {

class IdxSource : public OrderedSource {
 public:
  static Contract contract() {
    return Contract("data/idx", NodeKind::Source)
        .counts_rows()
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

  explicit IdxSource(const NodeSetup& s) : batch_(s.params.integer("batch")) {
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
    order_items(s, images_.size(0), batch_);  // sharded by rank: each process sees every world_size-th image
  }

  TensorMap next(const TensorMap&, RunContext&) override { return draw(); }

 private:
  TensorMap draw() {
    std::vector<int64_t> items = order_->next(batch_);
    const int64_t count = static_cast<int64_t>(items.size());
    auto idx = torch::from_blob(items.data(), {count}, torch::kLong);
    auto images = images_.index_select(0, idx).unsqueeze(1).to(torch::kFloat);
    images.div_(127.5).sub_(1.0);
    auto labels = labels_.defined() ? labels_.index_select(0, idx).to(torch::kLong)
                                    : torch::zeros({count}, torch::kLong);
    return {{"image", images}, {"label", labels}};
  }

  int64_t batch_;
  torch::Tensor images_, labels_;
};

}  // namespace ganglion::data

void register_gaussian_mixture(ganglion::TypeRegistrar&);
void register_leaf(ganglion::TypeRegistrar&);
void register_npy_source(ganglion::TypeRegistrar&);
void register_stroke_thickness(ganglion::TypeRegistrar&);
void register_image_pool(ganglion::TypeRegistrar&);
void register_palette_labels(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("data", GANGLION_VERSION) {
  registrar.add(ganglion::node_type<ganglion::data::IdxSource>());
  register_gaussian_mixture(registrar);
  register_leaf(registrar);
  register_npy_source(registrar);
  register_stroke_thickness(registrar);
  register_image_pool(registrar);
  register_palette_labels(registrar);
}
