// Reading one NPY file (NumPy's array format: a magic string, a header dict naming the element
// type, the memory order and the shape, then the raw elements).
#pragma once

#include <torch/types.h>

#include <string>

namespace ganglion::data {

/// Reads an NPY file (format versions 1 to 3) into a tensor of its shape and element type: bool,
/// int8/16/32/64, uint8, float32/64 (float16 and uint16/32/64 are converted to float32 and int64),
/// little- or big-endian, C or Fortran order. Throws std::runtime_error naming the file and what
/// is wrong: missing, not NPY, an element type it cannot hold (objects, strings, complex,
/// structured), a header it cannot parse, or data shorter than the shape says.
torch::Tensor read_npy(const std::string& path);

}  // namespace ganglion::data
