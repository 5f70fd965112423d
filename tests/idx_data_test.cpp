// The IDX reader on files the test makes: raw and gzipped read the same; broken files are named.
#include <doctest/doctest.h>
#include <zlib.h>

#include "data/idx_file.h"
#include "test_support.h"

using namespace ganglion;

namespace {

/// An IDX file of unsigned bytes with the given dimensions, values i % 251.
std::string idx_bytes(const std::vector<uint32_t>& dims) {
  std::string out{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  size_t total = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xff);
    total *= d;
  }
  for (size_t i = 0; i < total; ++i) out += static_cast<char>(i % 251);
  return out;
}

std::string write_gz(const std::string& name, const std::string& bytes) {
  const std::string path = test::write_temp(name, "");
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
  return path;
}

}  // namespace

TEST_CASE("IdxData.RawAndGzippedReadTheSame") {
  const std::string bytes = idx_bytes({5, 4, 3});
  const auto raw = data::read_idx_u8(test::write_temp("five.idx", bytes));
  const auto gz = data::read_idx_u8(write_gz("five.idx.gz", bytes));
  REQUIRE(raw.sizes() == torch::IntArrayRef({5, 4, 3}));
  CHECK(torch::equal(raw, gz));
  CHECK(raw[1][0][0].item<uint8_t>() == 12);  // element 12 of the data
}

TEST_CASE("IdxData.BrokenFilesNameTheFileAndTheProblem") {
  const std::string bytes = idx_bytes({5, 4, 3});
  const std::string truncated = test::write_temp("short.idx", bytes.substr(0, bytes.size() - 7));
  CHECK_THROWS_WITH(data::read_idx_u8(truncated),
                    doctest::Contains((truncated + ": file ends early").c_str()));
  const std::string text = test::write_temp("text.idx", "hello, this is not IDX");
  CHECK_THROWS_WITH(data::read_idx_u8(text), doctest::Contains((text + ": not an IDX file").c_str()));
  CHECK_THROWS_WITH(data::read_idx_u8("/nonexistent.idx"),
                    doctest::Contains("/nonexistent.idx: cannot open"));
  std::string floats = bytes;
  floats[2] = '\x0d';
  const std::string wrong_type = test::write_temp("float.idx", floats);
  CHECK_THROWS_WITH(data::read_idx_u8(wrong_type), doctest::Contains("element type is not unsigned byte"));
}

TEST_CASE("IdxData.ARunOnABrokenDataFileExitsTwoNamingTheNode") {
  REQUIRE(test::mnist_available());
  auto g = test::small_dcgan_graph(128, 32);
  const std::string text = test::write_temp("not-images.idx", "this is not an IDX file at all");
  g["nodes"]["batch"]["params"]["images"] = text;
  g["nodes"]["batch"]["params"]["labels"] = "";
  const std::string graph = test::write_temp("broken-data.json", g.dump());
  const auto r = test::run_cli({"run", graph, "--out", test::temp_dir("broken-data"), "--steps", "2"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("/nodes/batch: data/idx rejected its params: " + text + ": not an IDX file") !=
                    std::string::npos,
                r.err);
}
