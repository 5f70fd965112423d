// Checks the text encoders share: token ids a graph feeds them must fit the embedding table the
// params sized, and each row's length must fit the padded batch.
#pragma once

#include <torch/types.h>

#include <stdexcept>
#include <string>

namespace ganglion::text {

/// Throws std::invalid_argument unless `tokens` is B x T of ids in [0, vocabulary) and `lengths`
/// is B lengths in [1, T].
inline void check_tokens(const torch::Tensor& tokens, const torch::Tensor& lengths, int64_t vocabulary) {
  if (tokens.dim() != 2 || lengths.dim() != 1 || lengths.size(0) != tokens.size(0))
    throw std::invalid_argument("tokens is " + c10::str(tokens.sizes()) + " and lengths " +
                                c10::str(lengths.sizes()) + ": give B x T token ids and B lengths");
  if (tokens.numel() == 0) return;
  const int64_t top = tokens.max().item<int64_t>(), bottom = tokens.min().item<int64_t>();
  if (bottom < 0 || top >= vocabulary)
    throw std::invalid_argument("a token id is " + std::to_string(top >= vocabulary ? top : bottom) +
                                " but param vocabulary is " + std::to_string(vocabulary) +
                                ": set it to at least the size of the source's vocabulary (the \"size\" of "
                                "its NODE.vocabulary.json in the run directory)");
  const int64_t shortest = lengths.min().item<int64_t>(), longest = lengths.max().item<int64_t>();
  if (shortest < 1 || longest > tokens.size(1))
    throw std::invalid_argument("a length is " + std::to_string(shortest < 1 ? shortest : longest) +
                                " but tokens has " + std::to_string(tokens.size(1)) +
                                " columns: each length must be 1 to T");
}

/// B x T: true where step t of row b is a token, not padding.
inline torch::Tensor valid_steps(const torch::Tensor& lengths, int64_t steps) {
  return torch::arange(steps, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);
}

}  // namespace ganglion::text
