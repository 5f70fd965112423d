// text/char-cnn-rnn: the char-CNN-RNN text encoder of Reed et al. (2016): temporal convolutions
// with max pooling over the characters, a recurrent layer over the pooled steps, the mean of its
// hidden states over the caption's own steps, projected to the embedding. Reed feeds one-hot
// characters to the first convolution; an embedding table is the same map, learned. Padding is
// zeroed after every convolution, so a caption encodes alike in a batch of any longest length.
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/utils/rnn.h>

#include <ganglion/plugin.h>

#include "text/token_checks.h"

namespace ganglion::text {

class CharCnnRnn : public NetModule {
 public:
  static Contract contract() {
    return Contract("text/char-cnn-rnn", NodeKind::Module)
        .doc(
            "Reed et al.'s char-CNN-RNN: convolutions and max pooling over the tokens (characters), a GRU "
            "over the pooled steps, the mean of its states over each caption's steps, projected")
        .input("tokens", DType::Long, "B,T",
               "token ids, 0-padded (data/emoji-captions with tokenizer characters)")
        .input("lengths", DType::Long, "B", "tokens in each row, 1 to T")
        .output("embedding", DType::Float, "B,E", "the captions' embeddings, E = param size")
        .param_int("vocabulary", 256, 2, 1 << 24,
                   "rows of the token embedding table: at least the source's vocabulary size")
        .param_int("width", 64, 1, 1 << 16, "width of each token's embedding")
        .param_int("filters", 256, 1, 1 << 16, "filters of each convolution")
        .param_int("convolutions", 2, 1, 8, "convolution + pooling stages (each divides the steps by pool)")
        .param_int("kernel", 3, 1, 15, "width of each convolution, odd (the steps keep their number)")
        .param_int("pool", 3, 1, 8, "max pooling width and stride after each convolution")
        .param_int("hidden", 256, 1, 1 << 16, "hidden units of the GRU")
        .param_int("size", 128, 1, 1 << 16, "width of the output embedding (E)");
  }

  explicit CharCnnRnn(const NodeSetup& s)
      : vocabulary_(s.params.integer("vocabulary")), pool_(s.params.integer("pool")) {
    using namespace torch::nn;
    const int64_t kernel = s.params.integer("kernel"), filters = s.params.integer("filters");
    if (kernel % 2 == 0)
      throw std::invalid_argument("param kernel is " + std::to_string(kernel) + ": use an odd width (3)");
    embed_ = register_module(
        "embed", Embedding(EmbeddingOptions(vocabulary_, s.params.integer("width")).padding_idx(0)));
    int64_t in = s.params.integer("width");
    for (int64_t i = 0; i < s.params.integer("convolutions"); ++i, in = filters)
      convs_.push_back(register_module("conv" + std::to_string(i),
                                       Conv1d(Conv1dOptions(in, filters, kernel).padding(kernel / 2))));
    gru_ = register_module("gru", GRU(GRUOptions(filters, s.params.integer("hidden")).batch_first(true)));
    head_ = register_module("head", Linear(s.params.integer("hidden"), s.params.integer("size")));
  }

  TensorMap forward(const TensorMap& in) override {
    const auto& tokens = in.at("tokens");
    auto lengths = in.at("lengths");
    check_tokens(tokens, lengths, vocabulary_);
    auto x = embed_->forward(tokens).transpose(1, 2);  // B x width x T
    for (auto& conv : convs_) {
      // Zeroed padding after the ReLU: pooling never picks it (ReLU is at least 0) and the next
      // convolution sees it as the zero padding at the caption's end.
      x = torch::relu(conv->forward(x)) * valid_steps(lengths, x.size(2)).unsqueeze(1).to(x.dtype());
      if (pool_ > 1) {
        x = torch::nn::functional::max_pool1d(
            x, torch::nn::functional::MaxPool1dFuncOptions(pool_).stride(pool_).ceil_mode(true));
        lengths = (lengths + pool_ - 1).div(pool_, "floor");
      }
    }
    const auto steps = x.transpose(1, 2);  // B x T' x filters
    const auto packed = torch::nn::utils::rnn::pack_padded_sequence(
        steps, lengths.cpu(), /*batch_first=*/true, /*enforce_sorted=*/false);
    const auto states = std::get<0>(
        torch::nn::utils::rnn::pad_packed_sequence(std::get<0>(gru_->forward_with_packed_input(packed)),
                                                   /*batch_first=*/true));  // B x T'' x H, 0-padded
    const auto mean = states.sum(1) / lengths.to(states.dtype()).unsqueeze(1);
    return {{"embedding", head_->forward(mean)}};
  }

 private:
  int64_t vocabulary_, pool_;
  torch::nn::Embedding embed_{nullptr};
  std::vector<torch::nn::Conv1d> convs_;
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace ganglion::text

void register_char_cnn_rnn(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::text::CharCnnRnn>());
}
