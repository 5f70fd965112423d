#include "layers/spectral_norm.h"

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include <stdexcept>

#include "layers/transposed_conv.h"

namespace ganglion::layers {

namespace {

// The weight as a matrix [out, rest].
torch::Tensor as_matrix(const torch::Tensor& w, int64_t out_dim) {
  return (out_dim == 0 ? w : w.transpose(0, out_dim)).flatten(1);
}

}  // namespace

SpectralNorm::SpectralNorm(torch::nn::Module& root, int power_iterations, double eps)
    : power_iterations_(power_iterations), eps_(eps) {
  std::vector<torch::nn::Module*> all{&root};
  for (const auto& child : root.modules(/*include_self=*/false)) all.push_back(child.get());
  for (torch::nn::Module* m : all) {
    Entry e{m, {}, {}, 0, nullptr};
    if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(m)) {
      e.weight = conv->weight;
      e.use = [conv](const torch::Tensor& w) { conv->weight = w; };
    } else if (auto* up = dynamic_cast<torch::nn::ConvTranspose2dImpl*>(m)) {
      e.weight = up->weight, e.out_dim = 1;
      e.use = [up](const torch::Tensor& w) { up->weight = w; };
    } else if (auto* fast = dynamic_cast<TransposedConv2dImpl*>(m)) {
      e.weight = fast->weight, e.out_dim = 1;
      e.use = [fast](const torch::Tensor& w) { fast->weight = w; };
    } else if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(m)) {
      e.weight = linear->weight;
      e.use = [linear](const torch::Tensor& w) { linear->weight = w; };
    } else {
      continue;
    }
    const int64_t rows = e.weight.size(e.out_dim);
    e.u = m->register_buffer(
        "weight_u", torch::nn::functional::normalize(
                        torch::randn({rows}), torch::nn::functional::NormalizeFuncOptions().dim(0).eps(eps)));
    entries_.push_back(std::move(e));
  }
  if (entries_.empty())
    throw std::invalid_argument(
        "spectral normalisation found no Conv2d, ConvTranspose2d or Linear layer to wrap");
}

void SpectralNorm::refresh(bool training) {
  for (auto& e : entries_) {
    const torch::Tensor w = as_matrix(e.weight, e.out_dim);
    torch::Tensor u, v;
    {
      torch::NoGradGuard no_grad;
      auto next_v = [&] {
        v = torch::mv(w.t(), e.u);
        v = v / (v.norm() + eps_);
      };
      for (int i = 0; training && i < power_iterations_; ++i) {
        next_v();
        const torch::Tensor wv = torch::mv(w, v);
        e.u.copy_(wv / (wv.norm() + eps_));  // in place: the registered buffer is what is saved
      }
      if (!v.defined()) next_v();  // eval: from the stored vector, which stays as it is
      // A copy: a later forward in the same phase advances the buffer in place, and this
      // forward's backward still needs the vector it used.
      u = e.u.clone();
    }
    // sigma = u^T W v, differentiable in W (u and v held fixed, as in Miyato et al.).
    const torch::Tensor sigma = torch::dot(u, torch::mv(w, v));
    e.use(e.weight / sigma);
  }
}

}  // namespace ganglion::layers
