// Multilayer perceptrons, the generator and discriminator of the original GAN (Goodfellow et al.
// 2014) and of the 2-D mixture experiments (VEEGAN, PacGAN): fully connected layers with ReLU
// (generator) or LeakyReLU (discriminator). The generator's output takes any shape ("2" for
// points, "1,28,28" for MNIST); the discriminator flattens whatever it is given.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <ganglion/plugin.h>

#include "layers/spectral_norm.h"
#include "nets/input_checks.h"

#include <sstream>

namespace ganglion::nets {

namespace {

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> dims;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    size_t used = 0;
    long long d = 0;
    try {
      d = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || d < 1)
      throw std::invalid_argument("param shape \"" + text +
                                  "\" must be positive sizes separated by commas, e.g. 2 or 1,28,28");
    dims.push_back(d);
  }
  if (dims.empty()) throw std::invalid_argument("param shape is empty; give e.g. 2 or 1,28,28");
  return dims;
}

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

}  // namespace

class MlpGenerator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/mlp-generator", NodeKind::Module)
        .doc("MLP generator: hidden layers with ReLU, then a linear (or tanh) layer shaped to `shape`")
        .input("z", DType::Float, "B,Z", "latent code")
        .output("x", DType::Float, "*", "generated sample, B followed by `shape`")
        .param_int("z_dim", 2, 1, 65536, "length of the latent code")
        .param_string("shape", std::string("2"), "shape of one sample, e.g. 2 (points) or 1,28,28 (MNIST)")
        .param_int("hidden", 400, 1, 65536, "units per hidden layer")
        .param_int("layers", 3, 0, 64, "hidden layers")
        .param_bool("batchnorm", false, "BatchNorm after each hidden layer (the PacGAN generator)")
        .param_bool("tanh", false, "end with tanh (images in [-1, 1]) instead of a linear output");
  }
  explicit MlpGenerator(const NodeSetup& s) : shape_(parse_shape(s.params.text("shape"))) {
    const auto& p = s.params;
    z_dim_ = p.integer("z_dim");
    int64_t width = z_dim_;
    for (int64_t i = 0; i < p.integer("layers"); ++i) {
      body_->push_back(torch::nn::Linear(width, p.integer("hidden")));
      if (p.flag("batchnorm")) body_->push_back(torch::nn::BatchNorm1d(p.integer("hidden")));
      body_->push_back(torch::nn::ReLU());
      width = p.integer("hidden");
    }
    body_->push_back(torch::nn::Linear(width, product(shape_)));
    if (p.flag("tanh")) body_->push_back(torch::nn::Tanh());
    register_module("body", body_);
  }
  TensorMap forward(const TensorMap& in) override {
    const auto& z = in.at("z");
    check_width(z.size(1), z_dim_, "z", "z_dim");
    std::vector<int64_t> out{z.size(0)};
    out.insert(out.end(), shape_.begin(), shape_.end());
    return {{"x", body_->forward(z).view(out)}};
  }

 private:
  std::vector<int64_t> shape_;
  int64_t z_dim_;
  torch::nn::Sequential body_;
};

class MlpDiscriminator : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/mlp-discriminator", NodeKind::Module)
        .doc("MLP discriminator: the input flattened, hidden layers with LeakyReLU, one score per sample")
        .input("x", DType::Float, "*", "samples, B followed by any shape")
        .output("score", DType::Float, "B", "probability of real (or logit with sigmoid=false)")
        .param_int("features", 2, 1, 1 << 24, "values per sample (2 for points, 784 for MNIST)")
        .param_int("hidden", 200, 1, 65536, "units per hidden layer")
        .param_int("layers", 2, 0, 64, "hidden layers")
        .param_float("negative_slope", 0.2, 0.0, 1.0, "LeakyReLU slope (0: ReLU)")
        .param_bool("sigmoid", false, "end with a sigmoid (probabilities) instead of logits")
        .param_bool("spectral_norm", false, "spectral normalisation of every layer (Miyato et al. 2018)");
  }
  explicit MlpDiscriminator(const NodeSetup& s) {
    const auto& p = s.params;
    features_ = p.integer("features");
    int64_t width = features_;
    for (int64_t i = 0; i < p.integer("layers"); ++i) {
      body_->push_back(torch::nn::Linear(width, p.integer("hidden")));
      body_->push_back(
          torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(p.real("negative_slope"))));
      width = p.integer("hidden");
    }
    body_->push_back(torch::nn::Linear(width, 1));
    if (p.flag("sigmoid")) body_->push_back(torch::nn::Sigmoid());
    register_module("body", body_);
    if (p.flag("spectral_norm")) spectral_norm_ = std::make_unique<layers::SpectralNorm>(*this);
  }
  TensorMap forward(const TensorMap& in) override {
    if (spectral_norm_) spectral_norm_->refresh(is_training());
    const auto x = in.at("x").flatten(1);
    check_width(x.size(1), features_, "x", "features");
    return {{"score", body_->forward(x).view({-1})}};
  }

 private:
  int64_t features_;
  torch::nn::Sequential body_;
  std::unique_ptr<layers::SpectralNorm> spectral_norm_;
};

/// PacGAN (Lin et al. 2018): the discriminator judges `m` samples at once, concatenated along the
/// first feature axis, which penalises a generator that covers few modes.
class Pack : public Function {
 public:
  static Contract contract() {
    return Contract("nets/pack", NodeKind::Function)
        .doc("PacGAN packing: groups of m samples concatenated along dimension 1 (B,F,... -> B/m,m*F,...)")
        .input("x", DType::Float, "*", "samples, B a multiple of m")
        .output("packed", DType::Float, "*", "B/m packed samples")
        .param_int("m", 2, 1, 64, "samples per packed input (the discriminator's features grow m-fold)");
  }
  explicit Pack(const NodeSetup& s) : m_(s.params.integer("m")) {}
  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto& x = in.at("x");
    if (x.dim() < 2 || x.size(0) % m_ != 0)
      throw std::invalid_argument("cannot pack " + c10::str(x.sizes()) + " in groups of " +
                                  std::to_string(m_) + ": the batch must be a multiple of m");
    std::vector<int64_t> shape{x.size(0) / m_, m_ * x.size(1)};
    for (int64_t d = 2; d < x.dim(); ++d) shape.push_back(x.size(d));
    return {{"packed", x.reshape(shape)}};
  }

 private:
  int64_t m_;
};

}  // namespace ganglion::nets

void register_mlp(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::MlpGenerator>());
  r.add(ganglion::node_type<ganglion::nets::MlpDiscriminator>());
  r.add(ganglion::node_type<ganglion::nets::Pack>());
}
