// losses/image-text-matching: the symmetric image-text matching loss that trains a text encoder
// beside an image encoder (Reed et al.'s DS-SJE, with a hinge; or the softmax form of later
// work). Within a batch each image should score its own caption above every other row's caption,
// and each caption its own image above the other images. Rows of the same emoji (input same) are
// never each other's negatives (their captions may be equal), nor rows of one caption text (input
// caption: a category caption that several emoji share).
#include <ganglion/plugin.h>

namespace ganglion::text {

class ImageTextMatching : public Function {
 public:
  static Contract contract() {
    return Contract("losses/image-text-matching", NodeKind::Function)
        .doc(
            "symmetric image-text matching within a batch: each image against every caption and each caption "
            "against every image, the true pairs on the diagonal (DS-SJE's hinge, or softmax)")
        .input("image", DType::Float, "B,E", "image embeddings")
        .input("text", DType::Float, "B,E", "caption embeddings, row i the caption of image i")
        .optional_input("same", DType::Long, "B",
                        "an id per row (data/emoji-captions' emoji): rows of one id are not negatives")
        .optional_input("caption", DType::Long, "B",
                        "an id per caption text (data/emoji-captions' caption): rows of one text are not "
                        "negatives either")
        .output("loss", DType::Float, "", "the mean of the image-to-text and text-to-image terms")
        .output("accuracy", DType::Float, "",
                "how often the true pair scores highest, in both directions (0 to 1; no gradient)")
        .param_string("form", std::string("hinge"),
                      "hinge: mean of max(0, margin + s(i, j) - s(i, i)) over negatives j (DS-SJE); softmax: "
                      "cross-entropy of the scores / temperature")
        .param_string(
            "negatives", std::string("all"),
            "hinge: all (the mean over every negative) or hardest (the highest-scoring negative of each "
            "row and column, as DS-SJE's structured hinge and VSE++)")
        .param_float("margin", 0.2, 0.0, 100.0, "hinge: how far the true pair must score above a negative")
        .param_float("temperature", 0.1, 1e-4, 100.0, "softmax: the scores are divided by it")
        .param_bool("normalize", true,
                    "score by cosine similarity (unit-length embeddings); else dot product");
  }

  explicit ImageTextMatching(const NodeSetup& s)
      : form_(s.params.text("form")),
        negatives_(s.params.text("negatives")),
        margin_(s.params.real("margin")),
        temperature_(s.params.real("temperature")),
        normalize_(s.params.flag("normalize")) {
    if (form_ != "hinge" && form_ != "softmax")
      throw std::invalid_argument("param form is \"" + form_ + "\": use hinge or softmax");
    if (negatives_ != "all" && negatives_ != "hardest")
      throw std::invalid_argument("param negatives is \"" + negatives_ + "\": use all or hardest");
  }

  TensorMap forward(const TensorMap& in, RunContext&) override {
    auto image = in.at("image"), text = in.at("text");
    if (normalize_) {
      image = torch::nn::functional::normalize(image, torch::nn::functional::NormalizeFuncOptions().dim(1));
      text = torch::nn::functional::normalize(text, torch::nn::functional::NormalizeFuncOptions().dim(1));
    }
    const int64_t b = image.size(0);
    const auto scores = image.matmul(text.t());  // B x B: image i against caption j
    const auto eye = torch::eye(b, scores.options().dtype(torch::kBool));
    // Negatives: every other row, less the rows that share an id with this one.
    auto negative = eye.logical_not();
    const auto same = in.find("same");
    if (same != in.end() && same->second.defined())
      negative = negative & (same->second.unsqueeze(0) != same->second.unsqueeze(1));
    const auto caption = in.find("caption");
    if (caption != in.end() && caption->second.defined())
      negative = negative & (caption->second.unsqueeze(0) != caption->second.unsqueeze(1));
    const auto right = scores.diagonal();
    torch::Tensor loss;
    if (form_ == "hinge") {
      const auto to_text = (margin_ + scores - right.unsqueeze(1)).clamp_min(0);   // row i: image i
      const auto to_image = (margin_ + scores - right.unsqueeze(0)).clamp_min(0);  // column j: caption j
      const auto mask = negative.to(scores.dtype());
      if (negatives_ == "hardest") {
        // A row or column without negatives (every row one id) adds 0: its masked terms are 0.
        loss = ((to_text * mask).amax(1).mean() + (to_image * mask).amax(0).mean()) / 2;
      } else {
        const auto count = negative.sum().clamp_min(1).to(scores.dtype());
        loss = ((to_text * mask).sum() + (to_image * mask).sum()) / (2 * count);
      }
    } else {
      const auto logits = (scores / temperature_)
                              .masked_fill(eye.logical_not() & negative.logical_not(),
                                           -std::numeric_limits<double>::infinity());
      const auto target = torch::arange(b, scores.options().dtype(torch::kLong));
      loss = (torch::nn::functional::cross_entropy(logits, target) +
              torch::nn::functional::cross_entropy(logits.t(), target)) /
             2;
    }
    torch::Tensor accuracy;
    {
      torch::NoGradGuard no_grad;
      const auto masked = scores.detach().masked_fill(eye.logical_not() & negative.logical_not(),
                                                      -std::numeric_limits<double>::infinity());
      const auto target = torch::arange(b, scores.options().dtype(torch::kLong));
      accuracy = ((masked.argmax(1) == target).to(torch::kFloat).mean() +
                  (masked.argmax(0) == target).to(torch::kFloat).mean()) /
                 2;
    }
    return {{"loss", loss}, {"accuracy", accuracy}};
  }

 private:
  std::string form_, negatives_;
  double margin_, temperature_;
  bool normalize_;
};

}  // namespace ganglion::text

void register_image_text_matching(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::text::ImageTextMatching>());
}
