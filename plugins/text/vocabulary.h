// A vocabulary: how captions become token ids, built once from a data set's training captions and
// then kept unchanged for the run (checkpoints carry it, and sampling and evaluation tokenize with
// the same one). Three tokenizers: words (ASCII lower-cased, punctuation split off), characters
// (UTF-8 code points, ASCII lower-cased) and SentencePiece sub-words trained on the captions.
// Id 0 is padding and id 1 the unknown token for every tokenizer. Saved as JSON (vocabulary.json).
// SentencePiece is reached through libganglion_sentencepiece.so (sentencepiece_shim.h says why);
// where that library cannot be loaded, only the sentencepiece tokenizer is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ganglion::text {

/// Splits a caption into words: ASCII letters lower-cased, each ASCII punctuation mark a token of
/// its own, other bytes (UTF-8 letters) kept inside words.
std::vector<std::string> split_words(const std::string& caption);
/// Splits a caption into its UTF-8 code points, ASCII letters lower-cased; a malformed byte is a
/// token of its own.
std::vector<std::string> split_characters(const std::string& caption);

class Vocabulary {
 public:
  static constexpr std::int64_t kPad = 0, kUnknown = 1;

  /// The tokenizer names a graph may choose: words, characters, sentencepiece.
  static const std::vector<std::string>& tokenizers();

  /// Built from `captions`. Words and characters: every token seen at least `min_count` times,
  /// most frequent first (ties in byte order), at most `max_size` ids in all (0 = no limit).
  /// SentencePiece: a unigram model of `max_size` pieces (at most; fewer on a small corpus)
  /// trained on the captions. Throws std::invalid_argument for an unknown tokenizer.
  static Vocabulary build(const std::string& tokenizer, const std::vector<std::string>& captions,
                          std::int64_t min_count, std::int64_t max_size);
  /// Reads what to_json() wrote; throws std::invalid_argument naming `where` and the fault.
  static Vocabulary parse(const std::string& json, const std::string& where);
  std::string to_json() const;

  const std::string& tokenizer() const { return tokenizer_; }
  /// Ids in all, padding and unknown included.
  std::int64_t size() const;
  /// The ids of a caption. Tokens the vocabulary lacks become kUnknown; when `unknown` is given,
  /// they are appended to it (as written in the caption).
  std::vector<std::int64_t> encode(const std::string& caption,
                                   std::vector<std::string>* unknown = nullptr) const;
  /// The token of an id ("<pad>", "<unk>" for those).
  std::string token(std::int64_t id) const;
  /// Same tokenizer and the same ids.
  bool operator==(const Vocabulary& other) const;
  bool operator!=(const Vocabulary& other) const { return !(*this == other); }

 private:
  std::string tokenizer_;
  std::vector<std::string> tokens_;  ///< words and characters: by id
  std::string model_;                ///< sentencepiece: the serialized model
  std::shared_ptr<void> pieces_;     ///< sentencepiece: the processor (sentencepiece_shim.h)
  std::unordered_map<std::string, std::int64_t> index_;  ///< words and characters: id by token

  void make_index();
};

}  // namespace ganglion::text
