// data/image-pool: CycleGAN's history of generated images (Shrivastava et al. 2017's buffer, as
// CycleGAN's official code keeps it): D is shown, for each new fake, either that fake or, half
// the time once the pool is full, one of the `size` fakes kept from earlier iterations (which the
// new one then replaces), so that D does not chase G's latest move only. The kept images are the
// node's state, checkpointed; its coin flips come from the node's own generator, checkpointed
// too, so a resumed run draws what the uninterrupted one would. While sampling it passes the
// images through and leaves the pool alone.
#include <ganglion/plugin.h>

namespace ganglion::data {

class ImagePool : public Function {
 public:
  static Contract contract() {
    return Contract("data/image-pool", NodeKind::Function)
        .doc(
            "CycleGAN's pool of earlier fakes: each image passes, or (p = 1/2 once the pool is full) is "
            "swapped for a kept one; the pool is checkpointed")
        .input("image", DType::Float, "*", "new fakes (feed them detached: a stale reference)")
        .output("image", DType::Float, "*", "the batch D is shown: new fakes and kept ones")
        .param_int("size", 50, 0, 100000, "images kept (0: no pool, every image passes)");
  }
  explicit ImagePool(const NodeSetup& s) : size_(s.params.integer("size")) {}

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    const torch::Tensor images = in.at("image").detach();
    if (size_ == 0 || context.sampling()) return {{"image", images}};
    at::Generator& gen = context.node_generator();
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < images.size(0); ++i) {
      const torch::Tensor image = images[i].clone();
      if (static_cast<int64_t>(kept_.size()) < size_) {
        kept_.push_back(image);
        out.push_back(image);
      } else if (torch::rand({1}, gen).item<double>() > 0.5) {
        const int64_t at = torch::randint(size_, {1}, gen).item<int64_t>();
        out.push_back(kept_[at]);
        kept_[at] = image;
      } else {
        out.push_back(image);
      }
    }
    return {{"image", torch::stack(out)}};
  }

  TensorMap state_tensors() const override {
    if (kept_.empty()) return {};
    return {{"images", torch::stack(kept_)}};
  }
  void restore_tensors(const TensorMap& state) override {
    kept_.clear();
    const auto it = state.find("images");
    if (it == state.end()) return;
    if (it->second.size(0) > size_)
      throw std::invalid_argument("the checkpoint's pool holds " + std::to_string(it->second.size(0)) +
                                  " images but param size is " + std::to_string(size_));
    for (int64_t i = 0; i < it->second.size(0); ++i) kept_.push_back(it->second[i].clone());
  }

 private:
  int64_t size_;
  std::vector<torch::Tensor> kept_;
};

}  // namespace ganglion::data

void register_image_pool(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::data::ImagePool>());
}
