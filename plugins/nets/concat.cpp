// nets/concat: tensors side by side along the channels (pix2pix's D sees its input and an output
// together; SPADE's label map joins an image): a function node, no special case in the engine.
#include <ganglion/plugin.h>

namespace ganglion::nets {

class Concat : public Function {
 public:
  static Contract contract() {
    return Contract("nets/concat", NodeKind::Function)
        .doc("the members of parts concatenated along dimension 1 (channels), in the order of their names")
        .input_group("parts", DType::Float, "*",
                     "tensors of one rank whose sizes agree but in dimension 1 (B,C,H,W images)", 2)
        .output("joined", DType::Float, "*", "the parts side by side");
  }
  explicit Concat(const NodeSetup& s) : members_(s.inputs) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    std::vector<torch::Tensor> parts;
    for (const auto& m : members_) parts.push_back(in.at(m));
    for (size_t i = 1; i < parts.size(); ++i) {
      auto a = parts[0].sizes().vec(), b = parts[i].sizes().vec();
      if (a.size() == b.size() && a.size() >= 2) a[1] = b[1] = 0;
      if (a != b || a.size() < 2)
        throw std::invalid_argument(members_[i] + " is " + c10::str(parts[i].sizes()) + " but " +
                                    members_[0] + " is " + c10::str(parts[0].sizes()) +
                                    ": parts may differ only in dimension 1");
    }
    return {{"joined", torch::cat(parts, 1)}};
  }

 private:
  std::vector<std::string> members_;
};

}  // namespace ganglion::nets

void register_concat(ganglion::TypeRegistrar& r) { r.add(ganglion::node_type<ganglion::nets::Concat>()); }
