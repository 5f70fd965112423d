// nets/midinet-generator: MidiNet's generator (Yang et al. 2017), which writes a bar of melody as a
// 16 x 128 piano roll. z (and the chord) pass two dense layers to 128 maps of 2 x 1 (time x
// pitch), which three transposed convolutions double in time to 16 x 1 and a last one spreads over
// the 128 pitches. A conditioner CNN reads the previous bar (16 x 128 to 16 x 1, then halving in
// time to 2 x 1) and its maps of matching length join the input of every transposed convolution;
// the chord (13 numbers) joins every layer as constant maps. Which inputs the graph connects
// picks the paper's model: z alone (1), with previous (2), with previous and chord (3).
#include <ganglion/plugin.h>

#include "nets/input_checks.h"
#include "nets/midinet_condition.h"

namespace ganglion::nets {

class MidinetGenerator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/midinet-generator", NodeKind::Module)
        .doc(
            "MidiNet's generator: a bar of melody (16 x 128 roll in [0, 1]) from z, conditioned on the "
            "previous bar through a conditioner CNN and on a chord where those inputs are connected")
        .input("z", DType::Float, "B,Z", "latent code")
        .optional_input("previous", DType::Float, "B,1,16,P", "the bar before (MidiNet's 2-D condition)")
        .optional_input("chord", DType::Float, "B,Y", "the bar's chord (MidiNet's 1-D condition, 13 numbers)")
        .output("bar", DType::Float, "B,1,16,P", "the generated bar: a sigmoid per step and pitch")
        .param_int("z_dim", 100, 1, 4096, "length of the latent code")
        .param_int("chord_dim", 13, 1, 1024, "length of the chord condition")
        .param_int("pitches", 128, 2, 1024, "the roll's pitches")
        .param_int("maps", 128, 8, 4096, "feature maps of the transposed convolutions (MidiNet: 128)")
        .param_int("conditioner_maps", 16, 1, 1024, "feature maps of the conditioner CNN (MidiNet: 16)")
        .param_int("hidden", 1024, 8, 16384, "width of the first dense layer (MidiNet: 1024)");
  }

  explicit MidinetGenerator(const NodeSetup& s) {
    const auto& p = s.params;
    use_previous_ = connected(s.inputs, "previous"), use_chord_ = connected(s.inputs, "chord");
    z_dim_ = p.integer("z_dim"), y_ = use_chord_ ? p.integer("chord_dim") : 0;
    pitches_ = p.integer("pitches"), maps_ = p.integer("maps");
    const int64_t cm = use_previous_ ? p.integer("conditioner_maps") : 0, hidden = p.integer("hidden");
    using namespace torch::nn;
    fc1_ = register_module("fc1", Linear(z_dim_ + y_, hidden));
    bn1_ = register_module("bn1", BatchNorm1d(hidden));
    fc2_ = register_module("fc2", Linear(hidden + y_, maps_ * 2));
    bn2_ = register_module("bn2", BatchNorm1d(maps_ * 2));
    using Pair = torch::ExpandingArray<2>;
    for (int i = 0; i < 4; ++i) {
      const bool last = i == 3;
      const Pair kernel = last ? Pair({1, pitches_}) : Pair({2, 1}),
                 stride = last ? Pair({1, 2}) : Pair({2, 2});
      up_.push_back(register_module(
          "up" + std::to_string(i),
          ConvTranspose2d(ConvTranspose2dOptions(maps_ + y_ + cm, last ? 1 : maps_, kernel).stride(stride))));
      if (!last) up_bn_.push_back(register_module("up_bn" + std::to_string(i), BatchNorm2d(maps_)));
    }
    if (use_previous_)
      for (int i = 0; i < 4; ++i) {
        const bool first = i == 0;
        const Pair kernel = first ? Pair({1, pitches_}) : Pair({2, 1}),
                   stride = first ? Pair({1, 2}) : Pair({2, 2});
        prev_.push_back(register_module("prev" + std::to_string(i),
                                        Conv2d(Conv2dOptions(first ? 1 : cm, cm, kernel).stride(stride))));
        prev_bn_.push_back(register_module("prev_bn" + std::to_string(i), BatchNorm2d(cm)));
      }
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& z = in.at("z");
    if (z.size(1) != z_dim_)
      throw std::invalid_argument("input z has " + std::to_string(z.size(1)) + " numbers; param z_dim is " +
                                  std::to_string(z_dim_));
    const torch::Tensor y = chord_input(in, y_);
    // The conditioner's maps at 16, 8, 4 and 2 steps.
    std::vector<torch::Tensor> taps;
    if (use_previous_) {
      auto h = in.at("previous");
      if (h.size(2) != 16 || h.size(3) != pitches_)
        throw std::invalid_argument("input previous is a roll of " + std::to_string(h.size(2)) + " x " +
                                    std::to_string(h.size(3)) + "; the net makes 16 x " +
                                    std::to_string(pitches_) + " (param pitches)");
      for (size_t i = 0; i < prev_.size(); ++i) {
        h = torch::leaky_relu(prev_bn_[i](prev_[i](h)), 0.2);
        taps.push_back(h);
      }
    }
    const auto with_chord = [&](const torch::Tensor& h) { return with_condition(h, y); };
    auto h = torch::relu(bn1_(fc1_(with_chord(z))));
    h = torch::relu(bn2_(fc2_(with_chord(h)))).view({z.size(0), maps_, 2, 1});
    for (size_t i = 0; i < up_.size(); ++i) {
      h = with_chord(h);
      if (use_previous_) h = torch::cat({h, taps[taps.size() - 1 - i]}, 1);
      h = up_[i](h);
      if (i + 1 < up_.size()) h = torch::relu(up_bn_[i](h));
    }
    return {{"bar", torch::sigmoid(h)}};
  }

 private:
  bool use_previous_ = false, use_chord_ = false;
  int64_t z_dim_ = 0, y_ = 0, pitches_ = 0, maps_ = 0;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr}, bn2_{nullptr};
  std::vector<torch::nn::ConvTranspose2d> up_;
  std::vector<torch::nn::BatchNorm2d> up_bn_;
  std::vector<torch::nn::Conv2d> prev_;
  std::vector<torch::nn::BatchNorm2d> prev_bn_;
};

}  // namespace ganglion::nets

void register_midinet_generator(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::MidinetGenerator>());
}
