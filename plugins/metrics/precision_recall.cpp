// metrics/precision-recall: improved precision and recall of Kynkäänniemi et al. (2019). Each real
// feature vector gets a ball reaching its k-th nearest real neighbour; precision is the share of
// generated samples inside some real ball (fidelity). Recall swaps the roles (coverage).
#include <ganglion/plugin.h>

#include "metrics/feature_checks.h"

namespace ganglion::metrics {

namespace {

/// Rows are compared in blocks, so 10,000 x 10,000 distances never sit in memory at once.
constexpr int64_t kBlock = 1024;

/// Distance from each row of `x` to its k-th nearest other row.
torch::Tensor kth_neighbour_radius(const torch::Tensor& x, int64_t k) {
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += kBlock) {
    const auto d = torch::cdist(x.narrow(0, i, std::min(kBlock, x.size(0) - i)), x);
    // The smallest distance is the row to itself (0): the k-th neighbour is the (k+1)-th smallest.
    parts.push_back(std::get<0>(d.topk(k + 1, 1, /*largest=*/false)).select(1, k));
  }
  return torch::cat(parts);
}

/// Share of rows of `query` within the ball of at least one row of `support`.
double share_inside(const torch::Tensor& query, const torch::Tensor& support, const torch::Tensor& radius) {
  int64_t inside = 0;
  for (int64_t i = 0; i < query.size(0); i += kBlock) {
    const auto d = torch::cdist(query.narrow(0, i, std::min(kBlock, query.size(0) - i)), support);
    inside += d.le(radius.unsqueeze(0)).any(1).sum().item<int64_t>();
  }
  return static_cast<double>(inside) / static_cast<double>(query.size(0));
}

}  // namespace

class PrecisionRecall : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/precision-recall", NodeKind::Function)
        .metric()
        .doc("improved precision and recall (k-NN manifolds of real and fake features)")
        .input("real", DType::Float, "N,F", "features of real samples")
        .input("fake", DType::Float, "M,F", "features of generated samples (as many as real, or not)")
        .output("precision", DType::Float, "", "share of fake samples inside the real manifold")
        .output("recall", DType::Float, "", "share of real samples inside the fake manifold")
        .param_int("k", 3, 1, 1024, "neighbour whose distance sets each ball's radius");
  }
  explicit PrecisionRecall(const NodeSetup& s) : k_(s.params.integer("k")) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto [real, fake] = feature_pair(in.at("real"), in.at("fake"), k_ + 1);
    const double precision = share_inside(fake, real, kth_neighbour_radius(real, k_));
    const double recall = share_inside(real, fake, kth_neighbour_radius(fake, k_));
    return {{"precision", torch::tensor(precision, torch::kFloat).reshape({})},
            {"recall", torch::tensor(recall, torch::kFloat).reshape({})}};
  }

 private:
  int64_t k_;
};

}  // namespace ganglion::metrics

void register_precision_recall(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::metrics::PrecisionRecall>());
}
