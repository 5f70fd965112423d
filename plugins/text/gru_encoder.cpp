// text/gru-encoder: a caption's token ids embedded and read by a bidirectional GRU; the last
// layer's final states of both directions, side by side, projected to the embedding. Padded steps
// are skipped (a packed sequence), so a caption encodes alike in a batch of any longest length.
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/utils/rnn.h>

#include <ganglion/plugin.h>

#include "text/token_checks.h"

namespace ganglion::text {

class GruEncoder : public NetModule {
 public:
  static Contract contract() {
    return Contract("text/gru-encoder", NodeKind::Module)
        .doc(
            "text encoder: token embedding, a bidirectional GRU over each caption's own length, its final "
            "states of both directions projected to the embedding")
        .input("tokens", DType::Long, "B,T", "token ids, 0-padded (data/emoji-captions' tokens)")
        .input("lengths", DType::Long, "B", "tokens in each row, 1 to T")
        .output("embedding", DType::Float, "B,E", "the captions' embeddings, E = param size")
        .param_int("vocabulary", 4096, 2, 1 << 24,
                   "rows of the token embedding table: at least the source's vocabulary size")
        .param_int("width", 128, 1, 1 << 16, "width of each token's embedding")
        .param_int("hidden", 256, 1, 1 << 16, "hidden units of the GRU in each direction")
        .param_int("layers", 1, 1, 16, "stacked GRU layers")
        .param_int("size", 128, 1, 1 << 16, "width of the output embedding (E)")
        .param_float("dropout", 0.0, 0.0, 0.99, "dropout on the token embeddings while training");
  }

  explicit GruEncoder(const NodeSetup& s) : vocabulary_(s.params.integer("vocabulary")) {
    using namespace torch::nn;
    const int64_t hidden = s.params.integer("hidden");
    embed_ = register_module(
        "embed", Embedding(EmbeddingOptions(vocabulary_, s.params.integer("width")).padding_idx(0)));
    dropout_ = register_module("dropout", Dropout(s.params.real("dropout")));
    gru_ = register_module("gru", GRU(GRUOptions(s.params.integer("width"), hidden)
                                          .num_layers(s.params.integer("layers"))
                                          .batch_first(true)
                                          .bidirectional(true)));
    head_ = register_module("head", Linear(2 * hidden, s.params.integer("size")));
  }

  TensorMap forward(const TensorMap& in) override {
    const auto &tokens = in.at("tokens"), &lengths = in.at("lengths");
    check_tokens(tokens, lengths, vocabulary_);
    const auto x = dropout_->forward(embed_->forward(tokens));
    const auto packed = torch::nn::utils::rnn::pack_padded_sequence(x, lengths.cpu(), /*batch_first=*/true,
                                                                    /*enforce_sorted=*/false);
    const auto final_states = std::get<1>(gru_->forward_with_packed_input(packed));  // (layers * 2) x B x H
    const int64_t n = final_states.size(0);
    const auto both = torch::cat({final_states[n - 2], final_states[n - 1]}, 1);
    return {{"embedding", head_->forward(both)}};
  }

 private:
  int64_t vocabulary_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace ganglion::text

void register_gru_encoder(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::text::GruEncoder>());
}
