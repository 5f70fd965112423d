// data/emoji-captions: the images of data/emoji, each with a caption that emoji.json's words give
// it: its name ("smiling face with heart-shaped eyes"), each short name ("heart eyes") and its
// category with its subcategory ("smileys & emotion, face affection"). One of an emoji's captions
// is drawn for each row, anew every epoch, from the row's place in the run (so a resumed run
// draws the same). Captions become token ids through a vocabulary built once from the captions
// of the training side of the split, whatever side this node reads, so that a test-side source
// and the training source tokenize alike; the engine keeps it with the run (derived()/adopt()).
#include <ganglion/plugin.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "data/ordered_source.h"
#include "images/emoji_index.h"
#include "images/image_decode.h"
#include "images/parallel_decode.h"
#include "text/vocabulary.h"

namespace ganglion::data {

namespace {

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string spaced(std::string s) {
  for (char& c : s)
    if (c == '_' || c == '-') c = ' ';
  return s;
}

/// The kinds of caption param captions may list.
const std::vector<std::string>& caption_kinds() {
  static const std::vector<std::string> kinds{"name", "short_names", "category"};
  return kinds;
}

/// An emoji's distinct captions of the kinds asked for, in the order name, short names, category.
std::vector<std::string> captions_of(const EmojiIndex::Emoji& e, const std::set<std::string>& kinds) {
  std::vector<std::string> out;
  const auto add = [&](const std::string& caption) {
    if (!caption.empty() && std::find(out.begin(), out.end(), caption) == out.end()) out.push_back(caption);
  };
  if (kinds.count("name")) add(lower_ascii(e.name));
  if (kinds.count("short_names"))
    for (const auto& s : e.short_names) add(spaced(lower_ascii(s)));
  if (kinds.count("category") && !e.subcategory.empty())
    add(lower_ascii(e.category) + ", " + spaced(lower_ascii(e.subcategory)));
  return out;
}

}  // namespace

class EmojiCaptionsSource : public OrderedSource {
 public:
  static Contract contract() {
    Contract c("data/emoji-captions", NodeKind::Source);
    c.counts_rows()
        .text_param("prompts")
        .doc(
            "emoji images (as data/emoji) with one caption each from emoji.json's words (name, short names, "
            "category), drawn anew every epoch, as token ids of a vocabulary built from the training "
            "captions")
        .output("image", DType::Float, "B,C,H,W", "images in [-1, 1], H = W = size")
        .output(
            "tokens", DType::Long, "B,T",
            "token ids of each row's caption, padded with 0 to the longest caption of the batch (T); 1 is "
            "a token the vocabulary lacks")
        .output("lengths", DType::Long, "B", "tokens in each row's caption (1 to T)")
        .output("label", DType::Long, "B", "category of each emoji, as data/emoji's label")
        .output("style", DType::Long, "B", "drawing style of each image: its place in param styles")
        .output("emoji", DType::Long, "B",
                "which emoji each row shows (its entry in emoji.json): rows of one emoji share captions")
        .output("caption", DType::Long, "B",
                "which caption each row has: rows of one text have one id, whatever their emoji (a category "
                "caption is many emoji's)");
    emoji_selection_params(c)
        .param_string(
            "captions", std::string("name,short_names,category"),
            "comma-separated kinds of caption each emoji has: name (\"grinning face\"), short_names "
            "(\"grinning\"), category (\"smileys & emotion, face smiling\")")
        .param_string("tokenizer", std::string("words"),
                      "words (lower-cased, punctuation split off), characters, or sentencepiece (sub-words "
                      "trained on the training captions)")
        .param_int("min_count", 1, 1, 1 << 20,
                   "words and characters: keep a token seen at least this often in the training captions")
        .param_int("max_size", 0, 0, 1 << 20,
                   "most ids in the vocabulary, padding and unknown included (0: every token kept; for "
                   "sentencepiece 0 means 1000, and a small corpus may give fewer)")
        .param_path("vocabulary", std::string(),
                    "a vocabulary.json to use instead of building one (a run's NODE.vocabulary.json: the "
                    "vocabulary its text encoder was trained with); empty: build from the training captions")
        .param_int("max_length", 0, 0, 1 << 16, "cut each caption to this many tokens (0: no limit)")
        .param_string(
            "prompts", std::string(),
            "captions to give the rows instead of the data's, separated by |: row i of a batch gets "
            "the (i mod n)-th; images and labels still come from the data (ganglion sample --text "
            "sets it)");
    return emoji_image_params(c);
  }

  explicit EmojiCaptionsSource(const NodeSetup& s)
      : background_(images::parse_colour(s.params.text("background"))),
        size_(s.params.integer("size")),
        channels_(s.params.integer("channels")),
        batch_(s.params.integer("batch")),
        threads_(s.params.integer("threads")),
        max_length_(s.params.integer("max_length")),
        tokenizer_(s.params.text("tokenizer")) {
    if (channels_ != 1 && channels_ != 3)
      throw std::invalid_argument("param channels is " + std::to_string(channels_) + ": use 1 or 3");
    if (std::find(text::Vocabulary::tokenizers().begin(), text::Vocabulary::tokenizers().end(), tokenizer_) ==
        text::Vocabulary::tokenizers().end())
      throw std::invalid_argument("param tokenizer is \"" + tokenizer_ +
                                  "\": use words, characters or sentencepiece");
    std::set<std::string> kinds;
    for (const auto& kind : split_trimmed(s.params.text("captions"), ',')) {
      if (kind.empty()) continue;
      if (std::find(caption_kinds().begin(), caption_kinds().end(), kind) == caption_kinds().end())
        throw std::invalid_argument("param captions: unknown kind \"" + kind +
                                    "\": use name, short_names or category");
      kinds.insert(kind);
    }
    if (kinds.empty()) throw std::invalid_argument("param captions is empty: name at least one kind (name)");

    EmojiIndex index = EmojiIndex::read(s.params);
    images_ = std::move(index.images);
    captions_.resize(index.emoji.size());
    std::vector<std::string> training;  // the vocabulary's corpus: every caption of the training side
    for (size_t i = 0; i < index.emoji.size(); ++i) {
      const auto& e = index.emoji[i];
      if (e.label < 0) continue;
      captions_[i] = captions_of(e, kinds);
      if (!e.test) training.insert(training.end(), captions_[i].begin(), captions_[i].end());
    }
    for (const auto& image : images_)
      if (captions_[image.emoji].empty())
        throw std::invalid_argument(s.params.text("folder") + "/emoji.json: /" + std::to_string(image.emoji) +
                                    ": the emoji has no caption of the kinds param captions asks for");

    const std::string pinned = s.params.text("vocabulary");
    if (!pinned.empty()) {
      std::ifstream in(pinned, std::ios::binary);
      if (!in)
        throw std::invalid_argument("param vocabulary: cannot read " + pinned +
                                    " (a run writes NODE.vocabulary.json beside its graph.json)");
      std::stringstream text;
      text << in.rdbuf();
      vocabulary_ = text::Vocabulary::parse(text.str(), pinned);
      if (vocabulary_.tokenizer() != tokenizer_)
        throw std::invalid_argument("param vocabulary: " + pinned + " was built by tokenizer " +
                                    vocabulary_.tokenizer() + " but param tokenizer is " + tokenizer_);
    } else {
      if (training.empty())
        throw std::invalid_argument("no training-side emoji to build the vocabulary from (param test_every)");
      vocabulary_ = text::Vocabulary::build(tokenizer_, training, s.params.integer("min_count"),
                                            s.params.integer("max_size"));
    }
    if (!s.params.text("prompts").empty()) {
      prompts_ = split_trimmed(s.params.text("prompts"), '|');
      for (size_t i = 0; i < prompts_.size(); ++i)
        if (prompts_[i].empty())
          throw std::invalid_argument("param prompts: caption " + std::to_string(i + 1) + " of " +
                                      std::to_string(prompts_.size()) +
                                      " is empty (captions are separated by |)");
    }
    // Caption ids: places in the sorted list of every distinct text a row can have.
    for (const auto& options : captions_) texts_.insert(texts_.end(), options.begin(), options.end());
    texts_.insert(texts_.end(), prompts_.begin(), prompts_.end());
    std::sort(texts_.begin(), texts_.end());
    texts_.erase(std::unique(texts_.begin(), texts_.end()), texts_.end());
    order_items(s, static_cast<int64_t>(images_.size()), batch_);
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    std::vector<uint64_t> ids;
    const std::vector<int64_t> items = order_->next(batch_, &ids);
    const int64_t count = static_cast<int64_t>(items.size());
    auto images = torch::empty({count, channels_, size_, size_}, torch::kFloat);
    std::vector<int64_t> labels(count), styles(count), which(count), lengths(count), caption_ids(count);
    std::vector<std::vector<int64_t>> tokens(count);
    parallel_decode(count, threads_, [&](int64_t i) {
      const auto& image = images_[items[i]];
      decode_emoji(image.file, background_, size_, channels_, images[i]);
      labels[i] = image.label;
      styles[i] = image.style;
      which[i] = image.emoji;
      const std::string& caption = caption_for(i, image.emoji, ids[i]);
      caption_ids[i] = std::lower_bound(texts_.begin(), texts_.end(), caption) - texts_.begin();
      tokens[i] = vocabulary_.encode(caption);
      if (tokens[i].empty()) tokens[i].push_back(text::Vocabulary::kUnknown);  // only blank text does this
      if (max_length_ > 0 && static_cast<int64_t>(tokens[i].size()) > max_length_)
        tokens[i].resize(max_length_);
      lengths[i] = static_cast<int64_t>(tokens[i].size());
    });
    const int64_t longest = count ? *std::max_element(lengths.begin(), lengths.end()) : 1;
    auto padded = torch::full({count, longest}, text::Vocabulary::kPad, torch::kLong);
    auto rows = padded.accessor<int64_t, 2>();
    for (int64_t i = 0; i < count; ++i)
      for (size_t t = 0; t < tokens[i].size(); ++t) rows[i][static_cast<int64_t>(t)] = tokens[i][t];
    return {{"image", images},
            {"tokens", padded},
            {"lengths", torch::tensor(lengths, torch::kLong)},
            {"label", torch::tensor(labels, torch::kLong)},
            {"style", torch::tensor(styles, torch::kLong)},
            {"emoji", torch::tensor(which, torch::kLong)},
            {"caption", torch::tensor(caption_ids, torch::kLong)}};
  }

  Derived derived() const override { return {"vocabulary.json", vocabulary_.to_json()}; }

  void adopt(const std::string& text) override {
    auto run = text::Vocabulary::parse(text, "the run's vocabulary");
    if (run.tokenizer() != tokenizer_)
      throw std::invalid_argument("the run's vocabulary was built by tokenizer " + run.tokenizer() +
                                  " but param tokenizer is " + tokenizer_);
    vocabulary_ = std::move(run);
  }

 private:
  /// Row `row`'s caption: a prompt, or one of the emoji's captions drawn from the row's place in
  /// the run.
  const std::string& caption_for(int64_t row, int64_t emoji, uint64_t draw_id) const {
    if (!prompts_.empty()) return prompts_[static_cast<size_t>(row) % prompts_.size()];
    const auto& options = captions_[emoji];
    if (options.size() == 1) return options.front();
    auto rng = order_->item_rng(draw_id);
    return options[rng() % options.size()];
  }

  images::Colour background_;
  int64_t size_, channels_, batch_, threads_, max_length_;
  std::string tokenizer_;
  std::vector<EmojiIndex::Image> images_;
  std::vector<std::vector<std::string>> captions_;  ///< by emoji.json entry
  std::vector<std::string> prompts_;
  std::vector<std::string> texts_;  ///< every caption a row can have, sorted: caption ids
  text::Vocabulary vocabulary_;
};

}  // namespace ganglion::data

void register_emoji_captions_source(ganglion::TypeRegistrar& registrar) {
  registrar.add(ganglion::node_type<ganglion::data::EmojiCaptionsSource>());
}
