#include "text/vocabulary.h"

#include "text/sentencepiece_shim.h"

#include <dlfcn.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <type_traits>

namespace ganglion::text {

namespace {

const char* const kPadToken = "<pad>";
const char* const kUnknownToken = "<unk>";

bool is_ascii_punctuation(unsigned char c) {
  return c < 128 && ((c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
                     (c >= '{' && c <= '~'));
}
bool is_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The serialized SentencePiece model is binary; JSON keeps it as base64.
const char* const kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string to_base64(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

/// Throws std::invalid_argument for anything but canonical base64.
std::string from_base64(const std::string& text) {
  if (text.size() % 4 != 0) throw std::invalid_argument("its length is not a multiple of 4");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      const char* at = c == '=' ? nullptr : std::strchr(kBase64, c);
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (!at || c == '\0' || pad > 0)
        throw std::invalid_argument("it holds a character base64 does not use");
      v = (v << 6) | static_cast<uint32_t>(at - kBase64);
    }
    out += static_cast<char>((v >> 16) & 255);
    if (pad < 2) out += static_cast<char>((v >> 8) & 255);
    if (pad < 1) out += static_cast<char>(v & 255);
  }
  return out;
}

/// libganglion_sentencepiece.so's functions, loaded once: beside the library this code is in
/// (PLUGINS/support/), else where the build put it.
struct SentencePieceLibrary {
  ganglion_spm_train_t train = nullptr;
  ganglion_spm_load_t load = nullptr;
  ganglion_spm_free_t free = nullptr;
  ganglion_spm_free_buffer_t free_buffer = nullptr;
  ganglion_spm_encode_t encode = nullptr;
  ganglion_spm_piece_size_t piece_size = nullptr;
  ganglion_spm_pad_id_t pad_id = nullptr;
  ganglion_spm_unk_id_t unk_id = nullptr;
  ganglion_spm_id_to_piece_t id_to_piece = nullptr;
  std::string error;  ///< why it could not be loaded

  static const SentencePieceLibrary& get() {
    static const SentencePieceLibrary library = open();
    if (!library.error.empty())
      throw std::invalid_argument("the sentencepiece tokenizer is not available: " + library.error);
    return library;
  }

 private:
  static SentencePieceLibrary open() {
    SentencePieceLibrary l;
    std::vector<std::string> candidates;
    Dl_info self{};
    if (dladdr(reinterpret_cast<void*>(&SentencePieceLibrary::open), &self) && self.dli_fname)
      candidates.push_back(
          (std::filesystem::path(self.dli_fname).parent_path() / "support" / "libganglion_sentencepiece.so")
              .string());
#ifdef GANGLION_SENTENCEPIECE_SHIM
    candidates.push_back(GANGLION_SENTENCEPIECE_SHIM);
#endif
    void* handle = nullptr;
    std::string tried;
    for (const auto& path : candidates) {
      if (!std::filesystem::exists(path)) {
        tried += (tried.empty() ? "" : ", ") + path + " (missing)";
        continue;
      }
      // DEEPBIND: SentencePiece's calls bind to its own protobuf, not to LibTorch's.
      handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle) break;
      tried += (tried.empty() ? "" : ", ") + path + " (" + dlerror() + ")";
    }
    if (!handle) {
      l.error = "cannot load libganglion_sentencepiece.so: " + tried +
                "; build with libsentencepiece-dev installed";
      return l;
    }
    const auto bind = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, name));
      if (!fn && l.error.empty()) l.error = std::string("libganglion_sentencepiece.so lacks ") + name;
    };
    bind(l.train, "ganglion_spm_train");
    bind(l.load, "ganglion_spm_load");
    bind(l.free, "ganglion_spm_free");
    bind(l.free_buffer, "ganglion_spm_free_buffer");
    bind(l.encode, "ganglion_spm_encode");
    bind(l.piece_size, "ganglion_spm_piece_size");
    bind(l.pad_id, "ganglion_spm_pad_id");
    bind(l.unk_id, "ganglion_spm_unk_id");
    bind(l.id_to_piece, "ganglion_spm_id_to_piece");
    return l;
  }
};

/// A processor for a serialized model; std::invalid_argument with SentencePiece's reason.
std::shared_ptr<void> load_model(const std::string& model) {
  const auto& spm = SentencePieceLibrary::get();
  char* error = nullptr;
  void* p = spm.load(model.data(), model.size(), &error);
  if (!p) {
    const std::string why = error ? error : "unknown";
    spm.free_buffer(error);
    throw std::invalid_argument(why);
  }
  return std::shared_ptr<void>(p, spm.free);
}

}  // namespace

std::vector<std::string> split_words(const std::string& caption) {
  std::vector<std::string> out;
  std::string word;
  const auto flush = [&] {
    if (!word.empty()) out.push_back(std::move(word));
    word.clear();
  };
  for (const char c : caption) {
    const auto u = static_cast<unsigned char>(c);
    if (is_ascii_space(u)) {
      flush();
    } else if (is_ascii_punctuation(u)) {
      flush();
      out.emplace_back(1, c);
    } else {
      word += lower(c);
    }
  }
  flush();
  return out;
}

std::vector<std::string> split_characters(const std::string& caption) {
  std::vector<std::string> out;
  for (size_t i = 0; i < caption.size();) {
    const auto u = static_cast<unsigned char>(caption[i]);
    size_t n = u < 0x80 ? 1 : (u >> 5) == 6 ? 2 : (u >> 4) == 14 ? 3 : (u >> 3) == 30 ? 4 : 0;
    bool whole = n > 0 && i + n <= caption.size();
    for (size_t k = 1; whole && k < n; ++k) whole = (static_cast<unsigned char>(caption[i + k]) >> 6) == 2;
    if (!whole) n = 1;  // a malformed byte stands alone
    out.push_back(n == 1 ? std::string(1, lower(caption[i])) : caption.substr(i, n));
    i += n;
  }
  return out;
}

const std::vector<std::string>& Vocabulary::tokenizers() {
  static const std::vector<std::string> names{"words", "characters", "sentencepiece"};
  return names;
}

Vocabulary Vocabulary::build(const std::string& tokenizer, const std::vector<std::string>& captions,
                             std::int64_t min_count, std::int64_t max_size) {
  Vocabulary v;
  v.tokenizer_ = tokenizer;
  if (tokenizer == "sentencepiece") {
    if (captions.empty()) throw std::invalid_argument("no captions to train SentencePiece on");
    // Ids 0 and 1 are padding and unknown, as for the other tokenizers; no sentence marks. One
    // thread and every caption: the same model on every machine. nmt_nfkc_cf lower-cases.
    const std::vector<std::pair<std::string, std::string>> options{
        {"model_type", "unigram"},
        {"vocab_size", std::to_string(max_size > 0 ? max_size : 1000)},
        {"hard_vocab_limit", "false"},
        {"character_coverage", "1.0"},
        {"normalization_rule_name", "nmt_nfkc_cf"},
        {"pad_id", "0"},
        {"unk_id", "1"},
        {"bos_id", "-1"},
        {"eos_id", "-1"},
        {"num_threads", "1"},
        {"minloglevel", "2"}};
    std::vector<const char*> keys, values, texts;
    for (const auto& [k, value] : options) keys.push_back(k.c_str()), values.push_back(value.c_str());
    for (const auto& c : captions) texts.push_back(c.c_str());
    const auto& spm = SentencePieceLibrary::get();
    char *model = nullptr, *error = nullptr;
    size_t size = 0;
    if (spm.train(texts.data(), texts.size(), keys.data(), values.data(), keys.size(), &model, &size,
                  &error) != 0) {
      const std::string why = error ? error : "unknown";
      spm.free_buffer(error);
      throw std::invalid_argument("SentencePiece could not train on the captions: " + why);
    }
    v.model_.assign(model, size);
    spm.free_buffer(model);
    v.pieces_ = load_model(v.model_);
    return v;
  }
  if (tokenizer != "words" && tokenizer != "characters")
    throw std::invalid_argument("unknown tokenizer \"" + tokenizer +
                                "\": use words, characters or sentencepiece");
  std::map<std::string, std::int64_t> counts;
  for (const auto& caption : captions)
    for (auto& token : tokenizer == "words" ? split_words(caption) : split_characters(caption))
      ++counts[token];
  std::vector<std::pair<std::string, std::int64_t>> kept;
  for (const auto& [token, count] : counts)
    if (count >= std::max<std::int64_t>(min_count, 1)) kept.emplace_back(token, count);
  // The map is in byte order already: a stable sort by count keeps ties in it.
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  v.tokens_ = {kPadToken, kUnknownToken};
  for (const auto& [token, count] : kept) {
    if (max_size > 0 && static_cast<std::int64_t>(v.tokens_.size()) >= max_size) break;
    v.tokens_.push_back(token);
  }
  v.make_index();
  return v;
}

Vocabulary Vocabulary::parse(const std::string& json, const std::string& where) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(where + ": not JSON (" + std::string(e.what()) + ")");
  }
  const auto fault = [&](const std::string& what) {
    return std::invalid_argument(where + ": " + what + " (a vocabulary.json that Ganglion wrote has it)");
  };
  if (!doc.is_object() || doc.value("format", 0) != 1)
    throw fault("expected an object of format 1 with \"tokenizer\"");
  const auto tokenizer = doc.find("tokenizer");
  if (tokenizer == doc.end() || !tokenizer->is_string() ||
      std::find(tokenizers().begin(), tokenizers().end(), tokenizer->get<std::string>()) ==
          tokenizers().end())
    throw fault("/tokenizer is not one of words, characters, sentencepiece");
  Vocabulary v;
  v.tokenizer_ = tokenizer->get<std::string>();
  if (v.tokenizer_ == "sentencepiece") {
    const auto model = doc.find("model");
    if (model == doc.end() || !model->is_string()) throw fault("/model is not a string");
    try {
      v.model_ = from_base64(model->get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw fault("/model is not base64: " + std::string(e.what()));
    }
    try {
      v.pieces_ = load_model(v.model_);
    } catch (const std::invalid_argument& e) {
      throw fault("/model is not a SentencePiece model: " + std::string(e.what()));
    }
    const auto& spm = SentencePieceLibrary::get();
    if (spm.pad_id(v.pieces_.get()) != kPad || spm.unk_id(v.pieces_.get()) != kUnknown)
      throw fault("/model does not give padding id 0 and unknown id 1");
    return v;
  }
  const auto tokens = doc.find("tokens");
  if (tokens == doc.end() || !tokens->is_array() || tokens->size() < 2) throw fault("/tokens is not a list");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const auto& t = (*tokens)[i];
    if (!t.is_string() || t.get<std::string>().empty())
      throw fault("/tokens/" + std::to_string(i) + " is not a non-empty string");
    if (!seen.emplace(t.get<std::string>(), i).second)
      throw fault("/tokens/" + std::to_string(i) + " repeats /tokens/" +
                  std::to_string(seen[t.get<std::string>()]));
    v.tokens_.push_back(t.get<std::string>());
  }
  if (v.tokens_[0] != kPadToken || v.tokens_[1] != kUnknownToken)
    throw fault("/tokens does not begin with \"<pad>\", \"<unk>\"");
  v.make_index();
  return v;
}

void Vocabulary::make_index() {
  for (size_t i = 0; i < tokens_.size(); ++i) index_.emplace(tokens_[i], static_cast<std::int64_t>(i));
}

std::string Vocabulary::to_json() const {
  nlohmann::json doc{{"format", 1}, {"tokenizer", tokenizer_}, {"size", size()}};
  if (pieces_)
    doc["model"] = to_base64(model_);
  else
    doc["tokens"] = tokens_;
  return doc.dump(1) + "\n";
}

std::int64_t Vocabulary::size() const {
  return pieces_ ? SentencePieceLibrary::get().piece_size(pieces_.get())
                 : static_cast<std::int64_t>(tokens_.size());
}

std::vector<std::int64_t> Vocabulary::encode(const std::string& caption,
                                             std::vector<std::string>* unknown) const {
  std::vector<std::int64_t> ids;
  if (pieces_) {
    const auto& spm = SentencePieceLibrary::get();
    int* out = nullptr;
    size_t count = 0;
    char* error = nullptr;
    if (spm.encode(pieces_.get(), caption.data(), caption.size(), &out, &count, &error) != 0) {
      const std::string why = error ? error : "unknown";
      spm.free_buffer(error);
      throw std::runtime_error("SentencePiece could not encode \"" + caption + "\": " + why);
    }
    for (size_t i = 0; i < count; ++i) {
      ids.push_back(out[i]);
      // A piece SentencePiece does not know has no text of its own: the caption names it.
      if (out[i] == kUnknown && unknown) unknown->push_back("<unk> in \"" + caption + "\"");
    }
    spm.free_buffer(out);
    return ids;
  }
  for (const auto& token : tokenizer_ == "words" ? split_words(caption) : split_characters(caption)) {
    const auto it = index_.find(token);
    if (it != index_.end() && it->second > kUnknown) {
      ids.push_back(it->second);
    } else {
      ids.push_back(kUnknown);
      if (unknown) unknown->push_back(token);
    }
  }
  return ids;
}

std::string Vocabulary::token(std::int64_t id) const {
  if (id < 0 || id >= size()) return kUnknownToken;
  if (!pieces_) return tokens_[id];
  const auto& spm = SentencePieceLibrary::get();
  char* piece = spm.id_to_piece(pieces_.get(), static_cast<int>(id));
  std::string out = piece ? piece : "";
  spm.free_buffer(piece);
  return out;
}

bool Vocabulary::operator==(const Vocabulary& other) const {
  return tokenizer_ == other.tokenizer_ && tokens_ == other.tokens_ && model_ == other.model_;
}

}  // namespace ganglion::text
