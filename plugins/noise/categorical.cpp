// Class labels for a conditional generator: uniform over the classes while training, or the
// classes a user asks for (`pick`), so `ganglion sample --set y.params.pick=3` draws only threes.
#include <ganglion/plugin.h>

#include <sstream>

namespace ganglion::noise {

class CategoricalNoise : public Source {
 public:
  static Contract contract() {
    return Contract("noise/categorical", NodeKind::Source)
        .classes_param("pick")
        .doc("class labels, uniform over 0..classes-1, or cycling through the classes in `pick`")
        .optional_input("like", DType::Any, "*", "a batch whose first dimension sets the batch size")
        .output("label", DType::Long, "B", "class indices")
        .param_int("classes", 10, 1, 1 << 20, "number of classes")
        .param_int("batch", 64, 1, 1 << 20, "batch size when `like` is not connected")
        .param_string("pick", std::string(),
                      "classes to give instead of random ones, e.g. \"3\" or \"0,1,2\" (row i of each batch "
                      "gets the (i mod n)-th); empty: uniform");
  }

  explicit CategoricalNoise(const NodeSetup& s)
      : classes_(s.params.integer("classes")), batch_(s.params.integer("batch")) {
    std::stringstream in(s.params.text("pick"));
    for (std::string item; std::getline(in, item, ',');) {
      size_t used = 0;
      long long c = -1;
      try {
        c = std::stoll(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || c < 0 || c >= classes_)
        throw std::invalid_argument("param pick \"" + s.params.text("pick") + "\": \"" + item +
                                    "\" is not a class in 0.." + std::to_string(classes_ - 1) +
                                    "; give classes separated by commas, e.g. 0,1,2");
      pick_.push_back(c);
    }
  }

  TensorMap next(const TensorMap& in, RunContext& ctx) override {
    const auto like = in.find("like");
    const int64_t b =
        like != in.end() && like->second.defined() && like->second.dim() > 0 ? like->second.size(0) : batch_;
    torch::Tensor label;
    if (pick_.empty()) {
      label = at::randint(classes_, {b}, ctx.generator(), torch::kLong);
    } else {
      label = torch::tensor(pick_, torch::kLong)
                  .repeat({(b + static_cast<int64_t>(pick_.size()) - 1) / static_cast<int64_t>(pick_.size())})
                  .narrow(0, 0, b);
    }
    return {{"label", label.to(ctx.device())}};
  }

 private:
  int64_t classes_, batch_;
  std::vector<int64_t> pick_;
};

}  // namespace ganglion::noise

void register_categorical(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::noise::CategoricalNoise>());
}
