// Text: the tokenizers and their vocabulary files (malformed ones too), the caption source on the
// emoji (variable-length batches, captions drawn anew each epoch, the vocabulary of the training
// side whatever the split, prompts), the text encoders (a caption encodes alike whatever the batch
// pads it to), the matching loss and R-precision, nets/roll, and the run that keeps its
// vocabulary when it resumes on changed data.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"
#include "text/vocabulary.h"

using namespace ganglion;
using test::contains;
using test::error_of;
using text::Vocabulary;
namespace fs = std::filesystem;

namespace {

const std::string kEmoji = data_folder() + "/emoji";

std::shared_ptr<Source> captions(std::map<std::string, ParamValue> params) {
  if (!params.count("folder")) params["folder"] = kEmoji;
  if (!params.count("shuffle")) params["shuffle"] = false;
  return make_source(test::registered("data/emoji-captions"),
                     test::node_setup("data/emoji-captions", params, 4));
}

/// A folder of `count` emoji (entry i named "emoji NAME_i", short name "short_i", category A),
/// each drawn by one real image, for runs that must change their data.
std::string fake_emoji(const std::string& name, int count, const std::string& word) {
  const std::string dir = test::temp_dir(name);
  fs::create_directories(dir + "/img/twitter/64");
  fs::copy_file(kEmoji + "/img/twitter/64/1f600.png", dir + "/img/twitter/64/a.png");
  fs::copy_file(kEmoji + "/img/twitter/64/2764-fe0f.png", dir + "/img/twitter/64/b.png");
  nlohmann::json index = nlohmann::json::array();
  for (int i = 0; i < count; ++i)
    index.push_back({{"image", i % 2 ? "a.png" : "b.png"},
                     {"category", "Smileys & Emotion"},
                     {"subcategory", "face-" + word},
                     {"name", word + " FACE NUMBER " + std::to_string(i)},
                     {"short_names", {"short_" + std::to_string(i)}},
                     {"has_img_twitter", true}});
  std::ofstream(dir + "/emoji.json") << index.dump();
  return dir;
}

std::vector<int64_t> row(const torch::Tensor& tokens, const torch::Tensor& lengths, int64_t i) {
  const auto t = tokens[i].slice(0, 0, lengths[i].item<int64_t>());
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

}  // namespace

TEST_CASE("Vocabulary.WordsAndCharactersFromCaptions") {
  CHECK(text::split_words("Smiling FACE, with heart-shaped eyes!") ==
        std::vector<std::string>{"smiling", "face", ",", "with", "heart", "-", "shaped", "eyes", "!"});
  CHECK(text::split_words("  ").empty());
  // UTF-8 stays inside a word and counts as one character; a stray byte stands alone.
  CHECK(text::split_words("Café au lait") == std::vector<std::string>{"café", "au", "lait"});
  CHECK(text::split_characters("Aé\xff") == std::vector<std::string>{"a", "é", "\xff"});

  const auto v = Vocabulary::build("words", {"red heart", "red apple", "red heart", "blue"}, 1, 0);
  CHECK(v.size() == 6);  // <pad>, <unk>, then by count: red (3), heart (2), apple, blue
  CHECK(v.token(0) == "<pad>");
  CHECK(v.token(1) == "<unk>");
  CHECK(v.token(2) == "red");
  CHECK(v.token(3) == "heart");
  CHECK(v.token(4) == "apple");  // ties in byte order
  std::vector<std::string> unknown;
  CHECK(v.encode("Red HEART green", &unknown) == std::vector<int64_t>{2, 3, Vocabulary::kUnknown});
  CHECK(unknown == std::vector<std::string>{"green"});
  // min_count and max_size cut the rare tokens.
  CHECK(Vocabulary::build("words", {"red heart", "red apple", "red heart"}, 2, 0).size() == 4);
  CHECK(Vocabulary::build("words", {"red heart", "red apple", "red heart"}, 1, 3).size() == 3);
  const auto chars = Vocabulary::build("characters", {"ab", "ba"}, 1, 0);
  CHECK(chars.encode("abc") == std::vector<int64_t>{2, 3, Vocabulary::kUnknown});
  CHECK(contains(error_of([] { Vocabulary::build("bytes", {"a"}, 1, 0); }),
                 "use words, characters or sentencepiece"));
}

TEST_CASE("Vocabulary.SavedAndReadBackAlike") {
  std::vector<std::string> corpus;
  for (int i = 0; i < 200; ++i)
    corpus.push_back(std::string(i % 2 ? "smiling" : "grinning") + " face with " + std::to_string(i % 7) +
                     (i % 3 ? " hearts" : " tears of joy"));
  for (const std::string tokenizer : {"words", "characters", "sentencepiece"}) {
    CAPTURE(tokenizer);
    const auto v = Vocabulary::build(tokenizer, corpus, 1, 60);
    const auto back = Vocabulary::parse(v.to_json(), "v.json");
    CHECK(back == v);
    CHECK(back.size() == v.size());
    CHECK(back.encode("Smiling face with tears") == v.encode("Smiling face with tears"));
    CHECK(v.encode("smiling face").size() >= 2);
    CHECK(v.size() <= 60);
    // Another corpus gives another vocabulary: equality is not vacuous.
    CHECK_FALSE(Vocabulary::build(tokenizer, {"zebra crossing"}, 1, 60) == v);
  }
  // SentencePiece lower-cases and gives the same pieces on every build (one thread).
  const auto sp = Vocabulary::build("sentencepiece", corpus, 1, 60);
  CHECK(sp.encode("SMILING face") == sp.encode("smiling face"));
  CHECK(Vocabulary::build("sentencepiece", corpus, 1, 60) == sp);
}

TEST_CASE("Vocabulary.MalformedFilesAreRefusedByName") {
  const auto words = Vocabulary::build("words", {"red heart"}, 1, 0);
  const auto refusal = [](const std::string& text) {
    return error_of([&] { Vocabulary::parse(text, "v.json"); });
  };
  CHECK(contains(refusal("{"), "v.json: not JSON"));
  CHECK(contains(refusal("[]"), "format 1"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "bytes"})"), "/tokenizer"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "words"})"), "/tokens is not a list"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "words", "tokens": ["<pad>", "<unk>", "a", "a"]})"),
                 "/tokens/3 repeats /tokens/2"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "words", "tokens": ["a", "<unk>"]})"), "begin with"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "words", "tokens": ["<pad>", "<unk>", 3]})"),
                 "/tokens/2"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "sentencepiece", "model": "!!!!"})"), "not base64"));
  CHECK(contains(refusal(R"({"format": 1, "tokenizer": "sentencepiece", "model": "AAAA"})"),
                 "not a SentencePiece model"));
  // Every truncation of a saved file is refused, never half-read.
  const std::string saved = words.to_json();
  for (size_t cut = 0; cut + 2 < saved.size(); cut += 3) CHECK_FALSE(refusal(saved.substr(0, cut)).empty());
}

TEST_CASE("EmojiCaptions.VariableLengthBatchesOfDrawnCaptions") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  test::TestContext ctx;
  auto source =
      captions({{"batch", std::int64_t{16}}, {"size", std::int64_t{16}}, {"limit", std::int64_t{16}}});
  const auto first = source->next({}, ctx);
  const auto &tokens = first.at("tokens"), &lengths = first.at("lengths");
  REQUIRE(tokens.dim() == 2);
  CHECK(tokens.size(0) == 16);
  CHECK(tokens.size(1) == lengths.max().item<int64_t>());  // padded to the longest of the batch
  CHECK(lengths.min().item<int64_t>() >= 1);
  CHECK(lengths.min().item<int64_t>() < lengths.max().item<int64_t>());  // captions differ in length
  for (int64_t i = 0; i < 16; ++i) {
    const int64_t n = lengths[i].item<int64_t>();
    CHECK(tokens[i].slice(0, n).eq(Vocabulary::kPad).all().item<bool>());         // padding after
    CHECK(tokens[i].slice(0, 0, n).gt(Vocabulary::kUnknown).all().item<bool>());  // train words known
  }
  CHECK(first.at("emoji")[0].item<int64_t>() == 0);
  // Rows of one caption id have one caption (the same tokens), rows of two ids two.
  const auto ids = first.at("caption");
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < i; ++j)
      CHECK((ids[i].item<int64_t>() == ids[j].item<int64_t>()) ==
            (row(tokens, lengths, i) == row(tokens, lengths, j)));
  // Each epoch draws each emoji's caption anew: over eight epochs emoji 0 gets several.
  std::set<std::vector<int64_t>> seen{row(tokens, lengths, 0)};
  for (int epoch = 1; epoch < 8; ++epoch) {
    const auto b = source->next({}, ctx);
    seen.insert(row(b.at("tokens"), b.at("lengths"), 0));
  }
  CHECK(seen.size() >= 2);
  // The same draws again from the same place in the run (a resumed run reads alike).
  auto again =
      captions({{"batch", std::int64_t{16}}, {"size", std::int64_t{16}}, {"limit", std::int64_t{16}}});
  CHECK(torch::equal(again->next({}, ctx).at("tokens"), tokens));
}

TEST_CASE("EmojiCaptions.TheVocabularyComesFromTheTrainingSide") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  auto train = captions({{"split", std::string("train")}, {"batch", std::int64_t{8}}});
  auto test = captions({{"split", std::string("test")}, {"batch", std::int64_t{8}}});
  auto all = captions({{"batch", std::int64_t{8}}});
  // Every side tokenizes alike: a test-side source beside the training one, or sampling.
  CHECK(train->derived().text == test->derived().text);
  CHECK(train->derived().text == all->derived().text);
  CHECK(train->derived().file_name == "vocabulary.json");
  const auto v = Vocabulary::parse(train->derived().text, "train");
  CHECK(v.size() > 1000);  // about two thousand words in emoji.json's names
  // Held-out emoji have words no training emoji has: they become the unknown token.
  test::TestContext ctx;
  bool some_unknown = false;
  for (int i = 0; i < 24 && !some_unknown; ++i)
    some_unknown = test->next({}, ctx).at("tokens").eq(Vocabulary::kUnknown).any().item<bool>();
  CHECK(some_unknown);
  // Other tokenizers; a pinned vocabulary file; a tokenizer that does not fit the file.
  const auto chars = captions({{"tokenizer", std::string("characters")}, {"batch", std::int64_t{8}}});
  CHECK(Vocabulary::parse(chars->derived().text, "chars").size() < 100);
  const std::string file =
      test::write_temp("pinned.vocabulary.json", Vocabulary::build("words", {"red heart"}, 1, 0).to_json());
  auto pinned = captions({{"vocabulary", file}, {"batch", std::int64_t{8}}});
  CHECK(Vocabulary::parse(pinned->derived().text, "p").size() == 4);
  CHECK(contains(error_of([&] {
                   captions({{"vocabulary", file}, {"tokenizer", std::string("characters")}});
                 }),
                 "was built by tokenizer words but param tokenizer is characters"));
  CHECK(contains(error_of([&] {
                   captions({{"vocabulary", std::string("/no/such.json")}});
                 }),
                 "cannot read /no/such.json"));
  CHECK(contains(error_of([&] {
                   captions({{"captions", std::string("name,emoji")}});
                 }),
                 "unknown kind \"emoji\""));
}

TEST_CASE("EmojiCaptions.MalformedWordsInEmojiJson") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  const std::string dir = test::temp_dir("captions-malformed");
  fs::create_directories(dir + "/img/twitter/64");
  fs::copy_file(kEmoji + "/img/twitter/64/1f600.png", dir + "/img/twitter/64/a.png");
  const auto with_index = [&](const std::string& index, std::map<std::string, ParamValue> params) {
    std::ofstream(dir + "/emoji.json") << index;
    params["folder"] = dir;
    params["batch"] = std::int64_t{1};
    return error_of([&] { captions(params); });
  };
  // Words of the wrong type are no words; an emoji left with no caption of the kinds asked for is
  // refused, naming the entry; an emoji with another kind of caption is fine.
  const std::string odd = R"([{"image": "a.png", "category": "A", "has_img_twitter": true, "name": 7,
                              "short_names": "grin", "subcategory": ["x"]},
                             {"image": "a.png", "category": "A", "has_img_twitter": true, "name": "Grin"}])";
  CHECK(
      contains(with_index(odd, {{"split", std::string("all")}}), "emoji.json: /0: the emoji has no caption"));
  const std::string shorts =
      R"([{"image": "a.png", "category": "A", "has_img_twitter": true, "short_names": ["grin"]},
          {"image": "a.png", "category": "A", "has_img_twitter": true, "short_names": ["beam"]}])";
  CHECK(with_index(shorts, {{"captions", std::string("name,short_names")}}).empty());
  // The vocabulary comes from the training side: with emoji 0 alone, that side is empty.
  CHECK(contains(
      with_index(R"([{"image": "a.png", "category": "A", "has_img_twitter": true, "name": "x"}])", {}),
      "no training-side emoji to build the vocabulary from"));
  CHECK(contains(with_index(R"([{"image": "a.png", "has_img_twitter": true, "name": "x"}])", {}),
                 "/0: no \"category\" string"));
  CHECK(contains(with_index("[{]", {}), "emoji.json: not JSON"));
  CHECK(contains(with_index(R"([{"image": "a.png", "category": "A", "has_img_twitter": true, "name": "x"}])",
                            {{"split", std::string("train")}, {"test_every", std::int64_t{2}}}),
                 "lists no image"));  // its one emoji is on the test side
}

TEST_CASE("EmojiCaptions.PromptsAndAdoptedVocabularies") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  test::TestContext ctx;
  auto source = captions(
      {{"prompts", std::string("red heart | a yellow face with a hat")}, {"batch", std::int64_t{4}}});
  const auto b = source->next({}, ctx);
  const auto v = Vocabulary::parse(source->derived().text, "v");
  CHECK(row(b.at("tokens"), b.at("lengths"), 0) == v.encode("red heart"));
  CHECK(row(b.at("tokens"), b.at("lengths"), 1) == v.encode("a yellow face with a hat"));
  CHECK(row(b.at("tokens"), b.at("lengths"), 2) == v.encode("red heart"));  // rows cycle through them
  CHECK(contains(error_of([&] {
                   captions({{"prompts", std::string("red||blue")}});
                 }),
                 "caption 2 of 3 is empty"));
  // A vocabulary handed back (a resumed run's) replaces the built one; a misfit is refused.
  const auto small = Vocabulary::build("words", {"red heart"}, 1, 0);
  source->adopt(small.to_json());
  CHECK(source->derived().text == small.to_json());
  const auto b2 = source->next({}, ctx);
  CHECK(row(b2.at("tokens"), b2.at("lengths"), 0) == small.encode("red heart"));
  CHECK(small.encode("red heart") != v.encode("red heart"));  // the adopted one, not the built one
  CHECK(contains(error_of([&] { source->adopt(Vocabulary::build("characters", {"ab"}, 1, 0).to_json()); }),
                 "tokenizer characters but param tokenizer is words"));
  CHECK(contains(error_of([&] { source->adopt("{"); }), "not JSON"));
}

TEST_CASE("TextEncoders.ACaptionEncodesAlikeWhateverItsPadding") {
  for (const std::string type : {"text/gru-encoder", "text/char-cnn-rnn"}) {
    CAPTURE(type);
    NodeRunner runner("{\"type\": \"" + type + "\", \"params\": {\"vocabulary\": 50, \"size\": 16}}");
    torch::manual_seed(3);
    const auto tokens = torch::randint(2, 50, {3, 9}, torch::kLong);
    const auto lengths = torch::tensor({9, 4, 1}, torch::kLong);
    auto padded = tokens.clone();
    padded[1].slice(0, 4).fill_(0);
    padded[2].slice(0, 1).fill_(0);
    const auto batch = runner.input("tokens", padded).input("lengths", lengths).run().at("embedding");
    CHECK(batch.sizes() == torch::IntArrayRef({3, 16}));
    // Row 1 alone, cut to its own length, and padded further: the same embedding.
    const auto alone = runner.input("tokens", padded.slice(0, 1, 2).slice(1, 0, 4))
                           .input("lengths", lengths.slice(0, 1, 2))
                           .run()
                           .at("embedding");
    CHECK(torch::allclose(alone[0], batch[1], 1e-5, 1e-5));
    const auto wider = torch::cat({padded, torch::zeros({3, 5}, torch::kLong)}, 1);
    CHECK(torch::allclose(runner.input("tokens", wider).input("lengths", lengths).run().at("embedding"),
                          batch, 1e-5, 1e-5));
    // The tokens count: another caption of the same length encodes otherwise.
    auto other = padded.clone();
    other[1][0] = (other[1][0] + 1) % 48 + 2;
    CHECK_FALSE(
        torch::allclose(runner.input("tokens", other).input("lengths", lengths).run().at("embedding")[1],
                        batch[1], 1e-5, 1e-5));
    // An id past the table, a length past the padding: clear refusals.
    CHECK(contains(error_of([&] { runner.input("tokens", padded + 50).input("lengths", lengths).run(); }),
                   "param vocabulary is 50"));
    CHECK(contains(
        error_of([&] {
          runner.input("tokens", padded).input("lengths", torch::tensor({10, 4, 1}, torch::kLong)).run();
        }),
        "each length must be 1 to T"));
  }
}

TEST_CASE("ImageTextMatching.TruePairsOnTheDiagonal") {
  torch::manual_seed(1);
  const auto codes = torch::randn({6, 8});
  for (const std::string form : {"hinge", "softmax"}) {
    CAPTURE(form);
    NodeRunner runner("{\"type\": \"losses/image-text-matching\", \"params\": {\"form\": \"" + form + "\"}}");
    const auto matched = runner.input("image", codes).input("text", codes * 2).run();
    const auto rolled = runner.input("image", codes).input("text", codes.roll({1}, {0})).run();
    CHECK(matched.at("accuracy").item<double>() == doctest::Approx(1.0));
    CHECK(rolled.at("accuracy").item<double>() < 0.5);
    CHECK(matched.at("loss").item<double>() < rolled.at("loss").item<double>());
    // Rows that share an id are not negatives: two copies of one row cost nothing then.
    auto twins = codes.clone();
    twins[1] = twins[0];
    const auto ids = torch::tensor({7, 7, 1, 2, 3, 4}, torch::kLong);
    NodeRunner with_same("{\"type\": \"losses/image-text-matching\", \"params\": {\"form\": \"" + form +
                         "\"}}");
    const auto with_ids = with_same.input("image", twins).input("text", twins).input("same", ids).run();
    // Without the ids the twins are each other's negatives, and one of them loses.
    CHECK(runner.input("image", twins).input("text", twins).run().at("accuracy").item<double>() < 1.0);
    CHECK(with_ids.at("accuracy").item<double>() == doctest::Approx(1.0));
    NodeRunner with_caption("{\"type\": \"losses/image-text-matching\", \"params\": {\"form\": \"" + form +
                            "\"}}");
    const auto by_text = with_caption.input("image", twins).input("text", twins).input("caption", ids).run();
    CHECK(by_text.at("accuracy").item<double>() == doctest::Approx(1.0));
  }
  // Gradients reach both encoders.
  NodeRunner runner(R"({"type": "losses/image-text-matching"})");
  auto image = codes.clone().requires_grad_(true), text = codes.roll({1}, {0}).requires_grad_(true);
  runner.input("image", image).input("text", text).run().at("loss").backward();
  CHECK(image.grad().abs().sum().item<double>() > 0);
  CHECK(text.grad().abs().sum().item<double>() > 0);
}

TEST_CASE("RPrecision.CeilingAndFloor") {
  torch::manual_seed(2);
  const auto codes = torch::randn({200, 16});
  NodeRunner runner(R"({"type": "metrics/r-precision", "params": {"candidates": 100}})");
  CHECK(runner.input("image", codes).input("text", codes).run().at("r_precision").item<double>() ==
        doctest::Approx(1.0));
  const double floor =
      runner.input("image", codes).input("text", codes.roll({1}, {0})).run().at("r_precision").item<double>();
  CHECK(floor < 0.1);  // chance is 1 in 100
  CHECK(contains(error_of([&] {
                   runner.input("image", codes.slice(0, 0, 50)).input("text", codes.slice(0, 0, 50)).run();
                 }),
                 "ask for fewer"));
}

TEST_CASE("Roll.EachRowGetsTheRowBefore") {
  NodeRunner runner(R"({"type": "nets/roll"})");
  const auto x = torch::arange(4).reshape({4, 1});
  CHECK(torch::equal(runner.input("x", x).run().at("rolled").flatten(), torch::tensor({3, 0, 1, 2})));
  CHECK(contains(error_of([&] { runner.input("x", torch::tensor(1.0)).run(); }), "give a batch"));
}

TEST_CASE("TextEncoderGraph.TrainsAndKeepsItsVocabularyWhenTheDataChanges") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  const std::string folder = fake_emoji("captions-data", 24, "HAPPY");
  auto g = test::shipped_graph("text-encoder-emoji");
  g.erase("$schema");
  for (const char* node : {"train", "test"}) {
    g["nodes"][node]["params"]["folder"] = folder;
    g["nodes"][node]["params"]["styles"] = "twitter";
    g["nodes"][node]["params"]["batch"] = 4;
    g["nodes"][node]["params"]["size"] = 16;
  }
  g["nodes"]["held_out_r_precision"]["params"]["candidates"] = 2;
  g["modules"]["I"]["params"]["blocks"] = 2;
  g["outputs"] = {{"checkpoint", {{"every", 1}}}, {"log", {{"every", 1}}}};
  const std::string graph = test::write_temp("text-encoder-small.json", g.dump());
  const std::string run = test::temp_dir("text-encoder-run");
  auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string saved = test::read_file(run + "/train.vocabulary.json");
  REQUIRE(!saved.empty());
  CHECK(contains(saved, "\"happy\""));
  CHECK(test::read_file(run + "/test.vocabulary.json") == saved);
  // The data changes its words: the resumed run keeps reading with the run's vocabulary.
  fs::remove_all(folder);
  fake_emoji("captions-data", 24, "SAD");
  r = test::run_cli({"run", graph, "--out", run, "--steps", "3", "--threads", "1", "--resume"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(test::read_file(run + "/train.vocabulary.json") == saved);
  // A resumed run whose tokenizer changed cannot read with it: refused, with the reason.
  g["nodes"]["train"]["params"]["tokenizer"] = "characters";
  const std::string changed = test::write_temp("text-encoder-chars.json", g.dump());
  r = test::run_cli({"run", changed, "--out", run, "--steps", "4", "--threads", "1", "--resume"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "cannot take what the run built from its data"));
  CHECK(contains(r.err, "tokenizer words but param tokenizer is characters"));
}

namespace {

/// graphs/text-encoder-emoji.json on `limit` real emoji of one style, 16x16, batches of 4.
nlohmann::json small_text_encoder(int limit) {
  auto g = test::shipped_graph("text-encoder-emoji");
  g.erase("$schema");
  for (const char* node : {"train", "test"}) {
    g["nodes"][node]["params"]["styles"] = "twitter";
    g["nodes"][node]["params"]["batch"] = 4;
    g["nodes"][node]["params"]["size"] = 16;
    g["nodes"][node]["params"]["limit"] = limit;
  }
  g["modules"]["I"]["params"]["blocks"] = 2;
  g["outputs"] = {{"checkpoint", {{"every", 1}}}, {"log", {{"every", 1}}}};
  return g;
}

}  // namespace

TEST_CASE("GanIntCls.TrainsWithTheFrozenEncoderAndDrawsForCaptions") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  // The matcher first: GAN-INT-CLS reads its text encoder from that run.
  const std::string matcher = test::temp_dir("int-cls-matcher");
  auto r = test::run_cli({"run", test::write_temp("int-cls-matcher.json", small_text_encoder(16).dump()),
                          "--out", matcher, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto g = test::shipped_graph("gan-int-cls-emoji");
  g.erase("$schema");
  g["modules"]["T"]["weights"]["from"] = matcher;
  g["modules"]["G"]["params"]["resolution"] = 16;
  g["modules"]["G"]["params"]["width"] = 8;
  g["modules"]["D"]["params"]["resolution"] = 16;
  g["modules"]["D"]["params"]["width"] = 8;
  g["nodes"]["batch"]["params"]["size"] = 16;
  g["nodes"]["batch"]["params"]["batch"] = 4;
  g["nodes"]["batch"]["params"]["limit"] = 16;
  g["outputs"]["checkpoint"] = {{"every", 2}};
  g["outputs"]["log"] = {{"every", 1}};
  const std::string graph = test::write_temp("int-cls-small.json", g.dump());
  // D meets the right caption, the wrong one (rolled) and G's image; T learns in no phase.
  const auto p = test::run_cli({"plan", graph});
  REQUIRE_MESSAGE(p.exit_code == 0, p.err);
  CHECK(contains(p.out, "compute wrong_text [nets/roll]"));
  CHECK(contains(p.out, "compute d_wrong [apply D]"));
  CHECK(contains(p.out, "compute d_loss_wrong [losses/bce-discriminator]"));
  CHECK(contains(p.out, "compute between_text [nets/mix]"));
  CHECK_FALSE(contains(p.out, "updates: T"));
  CHECK_FALSE(contains(p.out, "updates: G, T"));
  const std::string run = test::temp_dir("int-cls-run");
  r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(test::read_file(run + "/batch.vocabulary.json") ==
        test::read_file(matcher + "/train.vocabulary.json"));
  // Captions a user writes: the same seed draws another image for another caption, the same one
  // for the same caption.
  const auto draw = [&](const std::string& caption, const std::string& out) {
    const auto s = test::run_cli(
        {"sample", graph, "--checkpoint", run, "--text", caption, "--seeds", "3", "--out", out});
    REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    return test::read_file(out + "/seed0003.png");
  };
  const std::string heart = draw("red heart", test::temp_dir("int-cls-heart"));
  CHECK(!heart.empty());
  CHECK(draw("red heart", test::temp_dir("int-cls-heart-again")) == heart);
  const std::string hat = draw("a yellow face with a hat", test::temp_dir("int-cls-hat"));
  CHECK(hat != heart);
  // Frames from one caption to the next with one seed's noise: the ends are those captions' images.
  const std::string frames = test::temp_dir("int-cls-frames");
  const auto between = test::run_cli({"sample", graph, "--checkpoint", run, "--text", "red heart", "--text",
                                      "a yellow face with a hat", "--interpolate", "3", "--frames", "4",
                                      "--out", frames, "--video", "none"});
  REQUIRE_MESSAGE(between.exit_code == 0, between.err);
  CHECK(test::read_file(frames + "/frame0000.png") == heart);
  CHECK(test::read_file(frames + "/frame0004.png") == hat);
  CHECK(test::read_file(frames + "/frame0002.png") != heart);
  CHECK(test::read_file(frames + "/frame0002.png") != hat);
  CHECK_FALSE(fs::exists(frames + "/frame0005.png"));
  const auto one =
      test::run_cli({"sample", graph, "--checkpoint", run, "--text", "red heart", "--interpolate", "3"});
  CHECK(one.exit_code == 2);
  CHECK(contains(one.err, "one seed and two --text captions or more"));
  const auto grid = test::run_cli({"sample", graph, "--checkpoint", run, "--text", "red heart", "--text",
                                   "grinning face", "--count", "4", "--out", run + "/captions.png"});
  REQUIRE_MESSAGE(grid.exit_code == 0, grid.err);
  CHECK(test::png_size(run + "/captions.png").first > 0);
  const auto pipe = test::run_cli({"sample", graph, "--checkpoint", run, "--text", "red|blue"});
  CHECK(pipe.exit_code == 2);
  CHECK(contains(pipe.err, "give each caption its own --text"));
}

TEST_CASE("SampleText.AGraphWithoutCaptionsSaysSo") {
  const auto r = test::run_cli(
      {"sample", std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json", "--text", "a seven"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "--text: no node of this graph is a caption source"));
}

TEST_CASE("GanIntCls.SamplingReadsWithTheRunsVocabularyWhenTheDataChanges") {
  REQUIRE(fs::is_regular_file(kEmoji + "/emoji.json"));
  const std::string folder = fake_emoji("int-cls-data", 24, "HAPPY");
  auto g = test::shipped_graph("gan-int-cls-emoji");
  g.erase("$schema");
  g["modules"]["T"].erase("weights");  // a fixed random encoder will do: only the tokens matter here
  for (const char* m : {"G", "D"}) {
    g["modules"][m]["params"]["resolution"] = 16;
    g["modules"][m]["params"]["width"] = 8;
  }
  g["nodes"]["batch"]["params"]["folder"] = folder;
  g["nodes"]["batch"]["params"]["size"] = 16;
  g["nodes"]["batch"]["params"]["batch"] = 4;
  g["outputs"]["checkpoint"] = {{"every", 2}};
  const std::string graph = test::write_temp("int-cls-fake.json", g.dump());
  const std::string run = test::temp_dir("int-cls-fake-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto draw = [&](const std::string& out) {
    const auto s = test::run_cli({"sample", graph, "--checkpoint", run, "--text", "happy face number 3",
                                  "--seeds", "3", "--out", out});
    REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    return test::read_file(out + "/seed0003.png");
  };
  const std::string before = draw(test::temp_dir("int-cls-before"));
  // A vocabulary built from the changed data would lack "happy" (its <unk> draws another image).
  fs::remove_all(folder);
  fake_emoji("int-cls-data", 24, "SAD");
  CHECK(draw(test::temp_dir("int-cls-after")) == before);
  CHECK(contains(test::read_file(run + "/batch.vocabulary.json"), "\"happy\""));
}
