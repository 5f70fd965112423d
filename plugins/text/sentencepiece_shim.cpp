// libganglion_sentencepiece.so: SentencePiece behind the C functions of sentencepiece_shim.h
// (why it is a library of its own is said there).
#include "text/sentencepiece_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

char* copy_out(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

class CaptionIterator : public sentencepiece::SentenceIterator {
 public:
  CaptionIterator(const char* const* captions, size_t count) : captions_(captions), count_(count) {
    if (count_) value_ = captions_[0];
  }
  bool done() const override { return at_ >= count_; }
  void Next() override {
    if (++at_ < count_) value_ = captions_[at_];
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const char* const* captions_;
  size_t count_, at_ = 0;
  std::string value_;
};

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int ganglion_spm_train(const char* const* captions, size_t count,
                                                              const char* const* keys,
                                                              const char* const* values, size_t options,
                                                              char** model, size_t* model_size,
                                                              char** error) {
  try {
    std::unordered_map<std::string, std::string> args;
    for (size_t i = 0; i < options; ++i) args[keys[i]] = values[i];
    CaptionIterator input(captions, count);
    std::string serialized;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &input, &serialized);
    if (!status.ok()) {
      *error = copy_out(status.ToString());
      return -1;
    }
    *model = static_cast<char*>(std::malloc(serialized.size()));
    std::memcpy(*model, serialized.data(), serialized.size());
    *model_size = serialized.size();
    return 0;
  } catch (const std::exception& e) {
    *error = copy_out(e.what());
    return -1;
  }
}

__attribute__((visibility("default"))) void* ganglion_spm_load(const char* model, size_t size, char** error) {
  auto* p = new sentencepiece::SentencePieceProcessor();
  const auto status = p->LoadFromSerializedProto(std::string(model, size));
  if (!status.ok()) {
    *error = copy_out(status.ToString());
    delete p;
    return nullptr;
  }
  return p;
}

__attribute__((visibility("default"))) void ganglion_spm_free(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

__attribute__((visibility("default"))) void ganglion_spm_free_buffer(void* buffer) { std::free(buffer); }

__attribute__((visibility("default"))) int ganglion_spm_encode(void* processor, const char* text, size_t size,
                                                               int** ids, size_t* count, char** error) {
  std::vector<int> out;
  const auto status =
      static_cast<sentencepiece::SentencePieceProcessor*>(processor)->Encode(std::string(text, size), &out);
  if (!status.ok()) {
    *error = copy_out(status.ToString());
    return -1;
  }
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  if (!out.empty()) std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  *count = out.size();
  return 0;
}

__attribute__((visibility("default"))) int ganglion_spm_piece_size(void* processor) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(processor)->GetPieceSize();
}
__attribute__((visibility("default"))) int ganglion_spm_pad_id(void* processor) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(processor)->pad_id();
}
__attribute__((visibility("default"))) int ganglion_spm_unk_id(void* processor) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(processor)->unk_id();
}
__attribute__((visibility("default"))) char* ganglion_spm_id_to_piece(void* processor, int id) {
  return copy_out(static_cast<sentencepiece::SentencePieceProcessor*>(processor)->IdToPiece(id));
}
}
