#include "data/npy_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <vector>

namespace ganglion::data {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": " + why);
}

struct ElementType {
  torch::ScalarType stored;  ///< how the bytes are read
  int size;
};

// The NPY type string is byte order ('<', '>', '|' or '='), kind and size in bytes, e.g. "<f4".
ElementType element_type(const std::string& path, const std::string& descr, bool* swap) {
  if (descr.size() < 3) fail(path, "unsupported element type '" + descr + "'");
  const char order = descr[0], kind = descr[1];
  const int size = std::atoi(descr.c_str() + 2);
  *swap = order == '>' && size > 1;
  const std::string supported = "supported: bool, int8-64, uint8-64, float16/32/64";
  switch (kind) {
    case 'b':
      if (size == 1) return {torch::kBool, 1};
      break;
    case 'i':
      if (size == 1) return {torch::kChar, 1};
      if (size == 2) return {torch::kShort, 2};
      if (size == 4) return {torch::kInt, 4};
      if (size == 8) return {torch::kLong, 8};
      break;
    case 'u':
      if (size == 1) return {torch::kByte, 1};
      // Wider unsigned types have no torch equivalent in every LibTorch: read as the signed type
      // of the same width and widen below.
      if (size == 2) return {torch::kShort, 2};
      if (size == 4) return {torch::kInt, 4};
      if (size == 8) return {torch::kLong, 8};
      break;
    case 'f':
      if (size == 2) return {torch::kHalf, 2};
      if (size == 4) return {torch::kFloat, 4};
      if (size == 8) return {torch::kDouble, 8};
      break;
    default:
      break;
  }
  fail(path, "element type '" + descr + "' is not one Ganglion reads (" + supported + ")");
}

std::string field(const std::string& header, const std::string& key) {
  // Values are a quoted string, True/False or a parenthesised tuple.
  const std::regex re("['\"]" + key + "['\"]\\s*:\\s*('[^']*'|\"[^\"]*\"|True|False|\\([^)]*\\))");
  std::smatch m;
  if (!std::regex_search(header, m, re)) return {};
  return m[1].str();
}

}  // namespace

torch::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    fail(path, "not an NPY file (it does not start with \\x93NUMPY)");
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3) fail(path, "NPY format version " + std::to_string(major) + " is not 1 to 3");
  std::uint32_t header_length = 0;
  unsigned char len[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char*>(len), major == 1 ? 2 : 4)) fail(path, "file ends inside its header");
  header_length = len[0] | (len[1] << 8) | (len[2] << 16) | (std::uint32_t(len[3]) << 24);
  if (header_length > (1u << 16)) fail(path, "implausible NPY header length");
  std::string header(header_length, '\0');
  if (!in.read(header.data(), header_length)) fail(path, "file ends inside its header");

  std::string descr = field(header, "descr"), order = field(header, "fortran_order"),
              shape_text = field(header, "shape");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    fail(path, "NPY header has no plain 'descr' (structured arrays are not supported): " + header);
  descr = descr.substr(1, descr.size() - 2);
  if (order.empty() || shape_text.empty())
    fail(path, "NPY header lacks 'fortran_order' or 'shape': " + header);
  bool swap = false;
  const ElementType type = element_type(path, descr, &swap);

  std::vector<int64_t> shape;
  int64_t count = 1;
  const int64_t limit = int64_t(1) << 36;  // elements; far beyond any data set held in memory here
  const std::regex number("\\d+");
  for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), number);
       it != std::sregex_iterator(); ++it) {
    const std::string digits = it->str();
    const int64_t dim = digits.size() > 12 ? limit + 1 : std::stoll(digits);
    if (dim > 0 && count > limit / dim)
      fail(path, "NPY array of shape " + shape_text + " is implausibly large");
    shape.push_back(dim);
    count *= dim;
  }
  const bool fortran = order == "True";
  // Fortran order stores the transpose: read the reversed shape, then reverse the axes.
  std::vector<int64_t> stored_shape = shape;
  if (fortran) std::reverse(stored_shape.begin(), stored_shape.end());

  // Check the file holds the data before allocating for a shape a damaged header may exaggerate.
  const auto bytes = static_cast<std::streamsize>(count * type.size);
  const auto data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamsize available = in.tellg() - data_start;
  in.seekg(data_start);
  if (available < bytes)
    fail(path, "data ends early: the header's shape " + shape_text + " needs " + std::to_string(bytes) +
                   " bytes of '" + descr + "', the file has " + std::to_string(available));
  auto t = torch::empty(stored_shape, torch::TensorOptions().dtype(type.stored));
  auto* data = static_cast<char*>(t.data_ptr());
  if (!in.read(data, bytes))
    fail(path, "data ends early: the header's shape " + shape_text + " needs " + std::to_string(bytes) +
                   " bytes of '" + descr + "', the file has " + std::to_string(in.gcount()));
  if (swap)
    for (int64_t i = 0; i < count; ++i) std::reverse(data + i * type.size, data + (i + 1) * type.size);
  if (fortran && shape.size() > 1) {
    std::vector<int64_t> axes(shape.size());
    for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(axes.size() - 1 - i);
    t = t.permute(axes).contiguous();
  }
  if (descr[1] == 'u' && type.size > 1) {
    // Unsigned values read as signed: add 2^bits where negative, widening to int64 (uint64 values
    // above 2^63 do not fit and would be misread: say so instead).
    auto wide = t.to(torch::kLong);
    if (type.size < 8)
      wide = torch::where(wide < 0, wide + (int64_t(1) << (8 * type.size)), wide);
    else if (count > 0 && (wide < 0).any().item<bool>())
      fail(path, "holds uint64 values above 2^63, which Ganglion cannot hold");
    t = wide;
  }
  if (type.stored == torch::kHalf) t = t.to(torch::kFloat);
  return t;
}

}  // namespace ganglion::data
