// A plugin whose second type declares a role its ports do not carry (a style split without the
// w ports): that type is skipped with the reason, the first still loads.
#include <ganglion/plugin.h>

namespace {

class Plain : public ganglion::NetModule {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("bad/plain", ganglion::NodeKind::Module)
        .input("z", ganglion::DType::Float, "B,Z", "code")
        .output("image", ganglion::DType::Float, "B,C,H,W", "image");
  }
  explicit Plain(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in) override { return {{"image", in.at("z")}}; }
};

class BadSplit : public Plain {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("bad/split", ganglion::NodeKind::Module)
        .input("z", ganglion::DType::Float, "B,Z", "code")
        .output("image", ganglion::DType::Float, "B,C,H,W", "image")
        .style_split("z", "w", "w_avg");  // no "w" ports
  }
  using Plain::Plain;
};

}  // namespace

GANGLION_PLUGIN("bad-contract", "0.0.1") {
  registrar.add(ganglion::node_type<Plain>());
  registrar.add(ganglion::node_type<BadSplit>());
}
