// losses/mean-matching: feature matching as Salimans et al. (2016) and MidiNet use it: G pulled
// to make the batch mean of a fake's features (or of the fakes themselves) what it is for a batch
// of real ones, the sum over features of the squared difference of the two means (the real side
// detached). Unlike losses/feature-matching it pairs no fake with a real row.
#include <ganglion/plugin.h>

namespace ganglion::losses {

class MeanMatching : public Function {
 public:
  static Contract contract() {
    return Contract("losses/mean-matching", NodeKind::Function)
        .doc(
            "sum over features of (batch mean of fake - batch mean of real)^2, real detached: "
            "feature matching of batch statistics")
        .input("fake", DType::Float, "*", "features (or samples) of a batch of fakes, rows first")
        .input("real", DType::Float, "*", "the same of a batch of real rows (the batch sizes may differ)")
        .output("loss", DType::Float, "", "the squared distance of the two means");
  }
  explicit MeanMatching(const NodeSetup&) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& fake = in.at("fake");
    const auto& real = in.at("real");
    if (fake.dim() < 1 || real.dim() != fake.dim() ||
        fake.numel() / std::max<int64_t>(1, fake.size(0)) !=
            real.numel() / std::max<int64_t>(1, real.size(0)))
      throw std::invalid_argument("inputs fake and real must have rows of one shape");
    const auto mean = [](const torch::Tensor& t) { return t.reshape({t.size(0), -1}).mean(0); };
    return {{"loss", (mean(fake) - mean(real.detach())).pow(2).sum()}};
  }
};

}  // namespace ganglion::losses

void register_mean_matching(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::losses::MeanMatching>());
}
