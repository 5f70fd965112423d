#include "data/idx_file.h"

#include <zlib.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace ganglion::data {

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": " + why);
}

}  // namespace

torch::Tensor read_idx_u8(const std::string& path) {
  // gzread reads plain files too, so one path serves both .gz and raw IDX.
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open");
  auto read_exact = [&](void* dst, size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    while (n > 0) {
      const unsigned chunk = n > (1u << 30) ? (1u << 30) : static_cast<unsigned>(n);
      const int got = gzread(f.get(), out, chunk);
      if (got <= 0) fail(path, "file ends early: truncated or not an IDX file");
      out += got;
      n -= static_cast<size_t>(got);
    }
  };
  unsigned char magic[4];
  read_exact(magic, 4);
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, "not an IDX file (its first bytes are not an IDX magic number)");
  if (magic[2] != 0x08) fail(path, "IDX element type is not unsigned byte (0x08)");
  const int rank = magic[3];
  if (rank < 1 || rank > 4) fail(path, "IDX rank " + std::to_string(rank) + " is not 1 to 4");
  std::vector<int64_t> dims(rank);
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    read_exact(b, 4);
    dims[i] = (int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    if (dims[i] <= 0 || dims[i] > (1 << 28)) fail(path, "implausible IDX dimension");
    total *= dims[i];
    if (total > (int64_t(1) << 34)) fail(path, "IDX data is implausibly large");
  }
  auto t = torch::empty(dims, torch::kUInt8);
  read_exact(t.data_ptr<uint8_t>(), static_cast<size_t>(total));
  return t;
}

}  // namespace ganglion::data
