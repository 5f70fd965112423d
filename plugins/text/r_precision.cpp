// metrics/r-precision: AttnGAN's R-precision of text-to-image models: for each image, its own
// caption is ranked among `candidates` - 1 captions of other rows drawn at random, by the cosine
// similarity of an image-text matching model's embeddings; the share of images whose own caption
// ranks first (R = 1 relevant caption). Fed real held-out images it measures the matcher (the
// ceiling), fed generated ones the generator, fed shuffled captions the floor (1 / candidates).
// Candidates are captions of other emoji and of other texts: a category caption that several
// emoji share is not a rival to itself.
#include <ganglion/plugin.h>

namespace ganglion::text {

class RPrecision : public Function {
 public:
  static Contract contract() {
    return Contract("metrics/r-precision", NodeKind::Function)
        .metric()
        .doc(
            "AttnGAN's R-precision: how often an image's own caption scores highest among it and candidates "
            "- 1 random other captions (cosine similarity of matching embeddings)")
        .input("image", DType::Float, "N,E", "image embeddings (the matcher's image encoder)")
        .input("text", DType::Float, "N,E", "caption embeddings, row i the caption image i was made from")
        .optional_input("same", DType::Long, "N",
                        "an id per row (data/emoji-captions' emoji): rows of one id are never drawn as "
                        "another's candidates")
        .optional_input(
            "caption", DType::Long, "N",
            "an id per caption text (data/emoji-captions' caption): a caption equal to a row's own "
            "is never drawn as its candidate")
        .output("r_precision", DType::Float, "", "share of images whose own caption ranks first, 0..1")
        .param_int("candidates", 100, 2, 1 << 20, "captions ranked for each image, its own included");
  }
  explicit RPrecision(const NodeSetup& s) : candidates_(s.params.integer("candidates")) {}

  TensorMap forward(const TensorMap& in, RunContext& ctx) override {
    namespace F = torch::nn::functional;
    const auto image = F::normalize(in.at("image").detach().to(torch::kCPU, torch::kFloat),
                                    F::NormalizeFuncOptions().dim(1));
    const auto text =
        F::normalize(in.at("text").detach().to(torch::kCPU, torch::kFloat), F::NormalizeFuncOptions().dim(1));
    const int64_t n = image.size(0);
    const auto same_it = in.find("same");
    const torch::Tensor same = same_it != in.end() && same_it->second.defined()
                                   ? same_it->second.to(torch::kCPU)
                                   : torch::arange(n, torch::kLong);
    const auto ids = same.accessor<int64_t, 1>();
    const auto caption_it = in.find("caption");
    const torch::Tensor texts = caption_it != in.end() && caption_it->second.defined()
                                    ? caption_it->second.to(torch::kCPU)
                                    : torch::arange(n, torch::kLong);
    const auto text_ids = texts.accessor<int64_t, 1>();
    int64_t hits = 0;
    std::vector<int64_t> others;
    for (int64_t i = 0; i < n; ++i) {
      others.clear();
      for (int64_t j = 0; j < n; ++j)
        if (ids[j] != ids[i] && text_ids[j] != text_ids[i]) others.push_back(j);
      if (static_cast<int64_t>(others.size()) < candidates_ - 1)
        throw std::invalid_argument(
            "row " + std::to_string(i) + " has " + std::to_string(others.size()) +
            " rows of other ids and texts to draw from but param candidates asks for " +
            std::to_string(candidates_ - 1) + ": draw more samples or ask for fewer");
      // candidates - 1 of them without repeats: a partial Fisher-Yates from the node's generator.
      const auto draws = torch::randint(1LL << 62, {candidates_ - 1}, ctx.generator(), torch::kLong);
      const auto r = draws.accessor<int64_t, 1>();
      for (int64_t k = 0; k < candidates_ - 1; ++k)
        std::swap(others[k], others[k + r[k] % static_cast<int64_t>(others.size() - k)]);
      const auto pool = torch::tensor(std::vector<int64_t>(others.begin(), others.begin() + candidates_ - 1));
      const auto own = image[i].dot(text[i]).item<float>();
      const auto rivals = text.index_select(0, pool).matmul(image[i]);
      if (own > rivals.max().item<float>()) ++hits;
    }
    return {{"r_precision",
             torch::tensor(static_cast<float>(hits) / static_cast<float>(std::max<int64_t>(n, 1)))}};
  }

 private:
  int64_t candidates_;
};

}  // namespace ganglion::text

void register_r_precision(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::text::RPrecision>());
}
