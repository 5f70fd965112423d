// Reading one IDX file (the MNIST format: a magic number naming the element type and rank, the
// dimensions, then raw big-endian data), gzipped or not.
#pragma once

#include <torch/types.h>

#include <string>

namespace ganglion::data {

/// Reads an unsigned-byte IDX file into a uint8 tensor of its dimensions. Throws
/// std::runtime_error naming the file on a missing, truncated or non-IDX file.
torch::Tensor read_idx_u8(const std::string& path);

}  // namespace ganglion::data
