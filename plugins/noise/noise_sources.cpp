// Latent noise sources. They draw from the engine's generator so that runs are reproducible and
// resumable; the batch size follows the optional `like` input, else the `batch` param.
#include <ganglion/plugin.h>

namespace ganglion::noise {

namespace {

Contract noise_contract(const char* type, const char* doc) {
  return Contract(type, NodeKind::Source)
      .doc(doc)
      .optional_input("like", DType::Any, "*", "a batch whose first dimension sets the batch size")
      .output("z", DType::Float, "B,Z", "noise")
      .param_int("dim", 100, 1, 1 << 20, "length of each noise vector")
      .param_int("batch", 64, 1, 1 << 20, "batch size when `like` is not connected");
}

int64_t batch_size(const TensorMap& in, int64_t fallback) {
  auto it = in.find("like");
  return it != in.end() && it->second.defined() && it->second.dim() > 0 ? it->second.size(0) : fallback;
}

}  // namespace

class NormalNoise : public Source {
 public:
  static Contract contract() { return noise_contract("noise/normal", "standard normal noise N(0, 1)"); }
  explicit NormalNoise(const NodeSetup& s)
      : dim_(s.params.integer("dim")), batch_(s.params.integer("batch")) {}
  TensorMap next(const TensorMap& in, RunContext& ctx) override {
    auto z = at::normal(0.0, 1.0, {batch_size(in, batch_), dim_}, ctx.generator());
    return {{"z", z.to(ctx.device())}};
  }

 private:
  int64_t dim_, batch_;
};

class UniformNoise : public Source {
 public:
  static Contract contract() {
    return noise_contract("noise/uniform", "uniform noise on [low, high)")
        .param_float("low", -1.0, {}, {}, "lower bound")
        .param_float("high", 1.0, {}, {}, "upper bound");
  }
  explicit UniformNoise(const NodeSetup& s)
      : dim_(s.params.integer("dim")),
        batch_(s.params.integer("batch")),
        low_(s.params.real("low")),
        high_(s.params.real("high")) {
    if (!(low_ < high_)) throw std::invalid_argument("param low must be below param high");
  }
  TensorMap next(const TensorMap& in, RunContext& ctx) override {
    auto z = at::empty({batch_size(in, batch_), dim_}).uniform_(low_, high_, ctx.generator());
    return {{"z", z.to(ctx.device())}};
  }

 private:
  int64_t dim_, batch_;
  double low_, high_;
};

}  // namespace ganglion::noise

void register_interpolate(ganglion::TypeRegistrar&);
void register_categorical(ganglion::TypeRegistrar&);
void register_reparameterize(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("noise", GANGLION_VERSION) {
  register_interpolate(registrar);
  register_categorical(registrar);
  register_reparameterize(registrar);
  registrar.add(ganglion::node_type<ganglion::noise::NormalNoise>());
  registrar.add(ganglion::node_type<ganglion::noise::UniformNoise>());
}
