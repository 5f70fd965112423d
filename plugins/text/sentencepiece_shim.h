// The C functions of libganglion_sentencepiece.so, the one library that links SentencePiece.
// Debian's libsentencepiece carries its own protobuf-lite (3.14) and exports it, while LibTorch
// brings libprotobuf 3.21: linked into the same scope the two bind to each other's symbols and
// the process aborts ("compiled against version 3.14.0"). So vocabulary.cpp loads this library
// with RTLD_LOCAL | RTLD_DEEPBIND, which binds SentencePiece to its own protobuf, and calls it
// through these functions only. Strings and arrays it returns are malloc'd: free them with
// ganglion_spm_free_buffer.
#pragma once

#include <cstddef>

extern "C" {
/// Trains a model on `count` captions with SentencePiece's trainer options (keys[i] = values[i]);
/// 0 and the serialized model in *model, or -1 and a message in *error.
typedef int (*ganglion_spm_train_t)(const char* const* captions, size_t count, const char* const* keys,
                                    const char* const* values, size_t options, char** model,
                                    size_t* model_size, char** error);
/// A processor for a serialized model, or null and a message in *error.
typedef void* (*ganglion_spm_load_t)(const char* model, size_t size, char** error);
typedef void (*ganglion_spm_free_t)(void* processor);
typedef void (*ganglion_spm_free_buffer_t)(void* buffer);
/// The ids of `text` in *ids (*count of them); 0, or -1 and a message in *error.
typedef int (*ganglion_spm_encode_t)(void* processor, const char* text, size_t size, int** ids, size_t* count,
                                     char** error);
/// Pieces in the model; the padding and unknown ids (-1 where the model has none).
typedef int (*ganglion_spm_piece_size_t)(void* processor);
typedef int (*ganglion_spm_pad_id_t)(void* processor);
typedef int (*ganglion_spm_unk_id_t)(void* processor);
/// The piece of `id`, malloc'd and NUL-terminated.
typedef char* (*ganglion_spm_id_to_piece_t)(void* processor, int id);
}
