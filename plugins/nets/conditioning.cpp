#include "nets/conditioning.h"

#include "common/class_labels.h"

#include <torch/nn/functional/embedding.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace ganglion::nets {

namespace {

/// The connected `label`, checked against `classes`; undefined when there are no classes.
torch::Tensor label_of(const TensorMap& in, int64_t classes) {
  const auto it = in.find("label");
  const bool connected = it != in.end() && it->second.defined();
  if (classes == 0) {
    if (connected)
      throw std::invalid_argument(
          "input label is connected but param classes is 0: set classes to the number "
          "of classes, or disconnect label");
    return {};
  }
  if (!connected)
    throw std::invalid_argument("param classes is " + std::to_string(classes) +
                                " but input label is not connected: connect the class labels (B integers)");
  const torch::Tensor& label = it->second;
  if (label.dim() != 1 || label.scalar_type() != torch::kLong)
    throw std::invalid_argument("input label must be B integer class indices, not " +
                                c10::str(label.sizes()) + " " +
                                std::string(c10::toString(label.scalar_type())));
  // Out-of-range labels would be an index error deep in the embedding.
  check_class_range(label, classes, "input label", "param classes is " + std::to_string(classes));
  return label;
}

/// The connected `condition` (B, condition_dim); undefined when condition_dim is 0.
torch::Tensor condition_of(const TensorMap& in, int64_t dim) {
  const auto it = in.find("condition");
  const bool connected = it != in.end() && it->second.defined();
  if (dim == 0) {
    if (connected)
      throw std::invalid_argument(
          "input condition is connected but param condition_dim is 0: set it to the "
          "attribute's width, or disconnect condition");
    return {};
  }
  if (!connected)
    throw std::invalid_argument("param condition_dim is " + std::to_string(dim) +
                                " but input condition is not connected: connect the attribute (B," +
                                std::to_string(dim) + ")");
  const torch::Tensor& c = it->second;
  if (c.dim() != 2 || c.size(1) != dim)
    throw std::invalid_argument("input condition is " + c10::str(c.sizes()) + " but param condition_dim is " +
                                std::to_string(dim) + ": give B x " + std::to_string(dim) + " values");
  return c;
}

void check_rows(const torch::Tensor& t, int64_t rows, const char* name) {
  if (t.defined() && t.size(0) != rows)
    throw std::invalid_argument(std::string("input ") + name + " has " + std::to_string(t.size(0)) +
                                " rows for a batch of " + std::to_string(rows));
}

}  // namespace

Contract& conditioning_ports(Contract& c) {
  return c.optional_input("label", DType::Long, "B", "class of each sample (with param classes > 0)")
      .optional_input("condition", DType::Float, "B,K",
                      "continuous attribute of each sample, K = condition_dim (an age, a stroke thickness)")
      .param_int("classes", 0, 0, 1 << 20, "number of classes of input label (0: unconditional)")
      .param_int("condition_dim", 0, 0, 4096, "width K of input condition (0: none)");
}

Contract& generator_conditioning_params(Contract& c) {
  return c.param_int("class_embedding", 50, 0, 65536,
                     "width of the learned class embedding appended to z (0: the one-hot label)");
}

Contract& discriminator_conditioning_params(Contract& c) {
  return c.param_string("conditioning", std::string("projection"),
                        "how label and condition enter: projection (Miyato & Koyama 2018: an inner "
                        "product with the last hidden features) or concat (extra input channels)");
}

GeneratorCondition::GeneratorCondition(const Params& p, torch::nn::Module& owner)
    : classes_(p.integer("classes")), label_width_(0), condition_dim_(p.integer("condition_dim")) {
  if (classes_ > 0) {
    const int64_t embed = p.integer("class_embedding");
    label_width_ = embed > 0 ? embed : classes_;
    if (embed > 0)
      embedding_ = owner.register_module("class_embedding", torch::nn::Embedding(classes_, embed));
  }
}

torch::Tensor GeneratorCondition::append(const torch::Tensor& z, const TensorMap& in) {
  const torch::Tensor label = label_of(in, classes_), condition = condition_of(in, condition_dim_);
  if (!label.defined() && !condition.defined()) return z;
  check_rows(label, z.size(0), "label");
  check_rows(condition, z.size(0), "condition");
  std::vector<torch::Tensor> parts{z};
  if (label.defined())
    parts.push_back(embedding_ ? embedding_->forward(label)
                               : torch::one_hot(label, classes_).to(z.scalar_type()));
  if (condition.defined()) parts.push_back(condition.to(z.scalar_type()));
  return torch::cat(parts, 1);
}

DiscriminatorCondition::DiscriminatorCondition(const Params& p, int64_t features, torch::nn::Module& owner)
    : classes_(p.integer("classes")), condition_dim_(p.integer("condition_dim")) {
  const std::string& mode = p.text("conditioning");
  if (mode != "projection" && mode != "concat")
    throw std::invalid_argument("param conditioning is \"" + mode + "\": use projection or concat");
  projection_ = mode == "projection";
  if (!projection_) return;
  if (classes_ > 0) {
    class_projection_ = owner.register_module("class_projection", torch::nn::Embedding(classes_, features));
    // Embedding's N(0, 1) start would make the projection term dwarf the rest of the logit (its
    // spread grows with sqrt(features)); a Linear layer's scale keeps it O(1) at the start.
    torch::NoGradGuard no_grad;
    const double bound = 1.0 / std::sqrt(static_cast<double>(features));
    class_projection_->weight.uniform_(-bound, bound);
  }
  if (condition_dim_ > 0)
    condition_projection_ = owner.register_module(
        "condition_projection",
        torch::nn::Linear(torch::nn::LinearOptions(condition_dim_, features).bias(false)));
}

torch::Tensor DiscriminatorCondition::with_maps(const torch::Tensor& image, const TensorMap& in) const {
  if (projection_) {
    // projection() reads and checks the inputs when there is a condition; without one, a connected
    // label or condition is still an error.
    if (!projects()) label_of(in, 0), condition_of(in, 0);
    return image;
  }
  const torch::Tensor label = label_of(in, classes_), condition = condition_of(in, condition_dim_);
  if (!label.defined() && !condition.defined()) return image;
  check_rows(label, image.size(0), "label");
  check_rows(condition, image.size(0), "condition");
  std::vector<torch::Tensor> parts{image};
  const auto maps = [&](const torch::Tensor& v) {
    return v.to(image.scalar_type())
        .view({v.size(0), v.size(1), 1, 1})
        .expand({-1, -1, image.size(2), image.size(3)});
  };
  if (label.defined()) parts.push_back(maps(torch::one_hot(label, classes_)));
  if (condition.defined()) parts.push_back(maps(condition));
  return torch::cat(parts, 1);
}

torch::Tensor DiscriminatorCondition::projection(const torch::Tensor& hidden, const TensorMap& in) {
  if (!projection_) return {};
  const torch::Tensor label = label_of(in, classes_), condition = condition_of(in, condition_dim_);
  if (!label.defined() && !condition.defined()) return {};
  check_rows(label, hidden.size(0), "label");
  check_rows(condition, hidden.size(0), "condition");
  // Averaged over space (Miyato & Koyama sum): here the final layer is a convolution over the
  // unpooled features, so the mean keeps the term's scale independent of the resolution.
  const torch::Tensor h = hidden.dim() > 2 ? hidden.mean({2, 3}) : hidden;
  torch::Tensor term = torch::zeros({h.size(0)}, h.options());
  if (label.defined()) term = term + (class_projection_->forward(label) * h).sum(1);
  if (condition.defined())
    term = term + (condition_projection_->forward(condition.to(h.scalar_type())) * h).sum(1);
  return term;
}

}  // namespace ganglion::nets
