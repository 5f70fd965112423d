// nets/midinet-discriminator: MidiNet's discriminator. The bar (with the chord as 13 constant maps
// where connected) passes a convolution that spans all pitches and two steps (16 x 128 to 8 x 1),
// whose output is also the net's `features` for feature matching, then a convolution over four
// steps, and two dense layers, the chord joining each.
#include <ganglion/plugin.h>

#include "nets/input_checks.h"
#include "nets/midinet_condition.h"

namespace ganglion::nets {

class MidinetDiscriminator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/midinet-discriminator", NodeKind::Module)
        .doc(
            "MidiNet's discriminator: a logit per bar, and its first layer's maps as features for G's "
            "feature-matching loss; conditioned on a chord where that input is connected")
        .input("bar", DType::Float, "B,1,16,P", "a bar: 16 steps x P pitches in [0, 1]")
        .optional_input("chord", DType::Float, "B,Y", "the bar's chord (13 numbers)")
        .output("logits", DType::Float, "B", "real-vs-fake logit")
        .output("features", DType::Float, "B,F", "the first layer's maps (after leaky ReLU), flattened")
        .param_int("chord_dim", 13, 1, 1024, "length of the chord condition")
        .param_int("pitches", 128, 2, 1024, "the roll's pitches")
        .param_int("hidden", 1024, 8, 16384, "width of the dense layer (MidiNet: 1024)")
        .param_int("maps", 77, 1, 4096, "maps of the second convolution (MidiNet: 77)");
  }

  explicit MidinetDiscriminator(const NodeSetup& s) {
    const auto& p = s.params;
    use_chord_ = connected(s.inputs, "chord");
    y_ = use_chord_ ? p.integer("chord_dim") : 0;
    pitches_ = p.integer("pitches");
    const int64_t maps = p.integer("maps"), hidden = p.integer("hidden"), first = 1 + y_;
    using namespace torch::nn;
    conv1_ = register_module("conv1", Conv2d(Conv2dOptions(first, first, {2, pitches_}).stride({2, 2})));
    conv2_ = register_module("conv2", Conv2d(Conv2dOptions(first + y_, maps, {4, 1}).stride({2, 2})));
    bn2_ = register_module("bn2", BatchNorm2d(maps));
    fc1_ = register_module("fc1", Linear(maps * 3 + y_, hidden));
    bn3_ = register_module("bn3", BatchNorm1d(hidden));
    fc2_ = register_module("fc2", Linear(hidden + y_, 1));
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& x = in.at("bar");
    if (x.size(2) != 16 || x.size(3) != pitches_)
      throw std::invalid_argument("input bar is a roll of " + std::to_string(x.size(2)) + " x " +
                                  std::to_string(x.size(3)) + "; the net reads 16 x " +
                                  std::to_string(pitches_) + " (param pitches)");
    const torch::Tensor y = chord_input(in, y_);
    const auto with_chord = [&](const torch::Tensor& h) { return with_condition(h, y); };
    const auto features = torch::leaky_relu(conv1_(with_chord(x)), 0.2);
    auto h = torch::leaky_relu(bn2_(conv2_(with_chord(features))), 0.2).flatten(1);
    h = torch::leaky_relu(bn3_(fc1_(with_chord(h))), 0.2);
    return {{"logits", fc2_(with_chord(h)).squeeze(1)}, {"features", features.flatten(1)}};
  }

 private:
  bool use_chord_ = false;
  int64_t y_ = 0, pitches_ = 0;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::BatchNorm1d bn3_{nullptr};
};

}  // namespace ganglion::nets

void register_midinet_discriminator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::MidinetDiscriminator>());
}
