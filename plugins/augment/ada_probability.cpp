// ADA's adaptive augmentation probability (Karras et al. 2020, "Training Generative Adversarial
// Networks with Limited Data"): the overfitting heuristic r_t = E[sign(D(augmented reals))] is
// measured over a few iterations, and the probability p moves up when r_t is above the target
// (D is too sure of the real images) and down when below, at a rate that would take it from 0 to 1
// in `adjust_images` images. D's scores arrive through a previous-iteration input, since they
// are computed from images this node's probability augmented.
#include <ganglion/plugin.h>

#include <iomanip>
#include <limits>
#include <sstream>

namespace ganglion::augment {

class AdaProbability : public Function {
 public:
  static Contract contract() {
    return Contract("augment/ada-probability", NodeKind::Function)
        .doc(
            "ADA's adaptive augmentation probability: rises while D's scores of the augmented real "
            "images are mostly positive (r_t above the target), falls otherwise; feed its probability "
            "to every augment node")
        .optional_input("real_score", DType::Float, "B",
                        "D's scores (logits) of the augmented real images, from the previous iteration: "
                        "{\"from\": \"d_real\", \"previous\": true}")
        .output("probability", DType::Float, "", "the augmentation probability p, in [0, 1]")
        .output("overfitting", DType::Float, "", "the last r_t measured (mean sign of the real scores)")
        .param_float("target", 0.6, 0.0, 1.0, "the r_t that p is adjusted towards (ADA's 0.6)")
        .param_int("interval", 4, 1, std::nullopt,
                   "iterations of scores averaged into one r_t before p moves")
        .param_float("adjust_images", 500000.0, 1.0, std::nullopt,
                     "images over which p could move from 0 to 1 (ADA's 500 kimg; less on a small budget)")
        .param_float("initial", 0.0, 0.0, 1.0, "p before the first adjustment");
  }

  explicit AdaProbability(const NodeSetup& s)
      : target_(s.params.real("target")),
        interval_(s.params.integer("interval")),
        adjust_images_(s.params.real("adjust_images")),
        p_(s.params.real("initial")) {}

  TensorMap forward(const TensorMap& in, RunContext& context) override {
    auto score = in.find("real_score");
    // Measured once per iteration, whatever number of phases read p.
    if (!context.sampling() && score != in.end() && context.step() != measured_at_) {
      measured_at_ = context.step();
      // Summed where the scores are; read (a device sync) only when p moves or is saved.
      const auto signs = score->second.detach().sign().sum().to(torch::kDouble);
      pending_ = pending_.defined() ? pending_ + signs : signs;
      count_ += score->second.numel();
      if (++iterations_ >= interval_ && count_ > 0) {
        settle();
        overfitting_ = sign_sum_ / static_cast<double>(count_);
        const double direction = overfitting_ > target_ ? 1.0 : (overfitting_ < target_ ? -1.0 : 0.0);
        p_ = std::min(1.0, std::max(0.0, p_ + direction * static_cast<double>(count_) / adjust_images_));
        sign_sum_ = 0.0;
        count_ = 0;
        iterations_ = 0;
      }
    }
    return {{"probability", torch::tensor(p_, torch::kFloat)},
            {"overfitting", torch::tensor(overfitting_, torch::kFloat)}};
  }

  // Exactly what the next iteration needs, in full precision, so that a resumed run continues bit
  // for bit.
  std::string state() const override {
    settle();
    std::ostringstream out;
    out << std::setprecision(std::numeric_limits<double>::max_digits10) << p_ << ' ' << overfitting_ << ' '
        << sign_sum_ << ' ' << count_ << ' ' << iterations_ << ' ' << measured_at_;
    return out.str();
  }

  void restore(const std::string& state) override {
    std::istringstream in(state);
    double p, overfitting, sign_sum;
    std::int64_t count, iterations, measured_at;
    if (!(in >> p >> overfitting >> sign_sum >> count >> iterations >> measured_at))
      throw std::invalid_argument("unreadable ADA state \"" + state + "\"");
    p_ = p;
    overfitting_ = overfitting;
    sign_sum_ = sign_sum;
    pending_ = torch::Tensor();
    count_ = count;
    iterations_ = iterations;
    measured_at_ = measured_at;
  }

 private:
  /// Moves the signs summed on the device into sign_sum_.
  void settle() const {
    if (!pending_.defined()) return;
    sign_sum_ += pending_.item<double>();
    pending_ = torch::Tensor();
  }

  double target_;
  std::int64_t interval_;
  double adjust_images_;
  double p_, overfitting_ = 0.0;
  mutable double sign_sum_ = 0.0;  // mutable: state() settles the sum still on the device
  std::int64_t count_ = 0, iterations_ = 0, measured_at_ = -1;
  mutable torch::Tensor pending_;  ///< signs summed since the last settle(), on the scores' device
};

}  // namespace ganglion::augment

void register_ada_probability(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::augment::AdaProbability>());
}
