// The installable SDK: the out-of-tree template plugin builds against an installed Ganglion, passes
// its own tests, loads with --plugin-path, and trains in a graph with the built-in nodes.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "test_support.h"

using namespace ganglion;

namespace {

/// Runs a shell command with its output in `log`; the exit code.
int sh(const std::string& command, const std::string& log) {
  const int status = std::system((command + " > '" + log + "' 2>&1 < /dev/null").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

TEST_CASE("Sdk.TemplatePluginBuildsAgainstTheInstalledSdkAndTrains") {
  REQUIRE(test::mnist_available());
  const std::string root = test::temp_dir("sdk");
  const std::string prefix = root + "/prefix", build = root + "/template-build", log = root + "/log.txt";
  const std::string source = std::string(GANGLION_SOURCE_DIR) + "/examples/plugin-template";
  const std::string launcher =
      std::system("command -v ccache > /dev/null") == 0
          // ccache caches around a precompiled header only when told that it may.
          ? " '-DCMAKE_CXX_COMPILER_LAUNCHER=cmake;-E;env;CCACHE_SLOPPINESS=pch_defines,time_macros;ccache'"
          : "";

  REQUIRE_MESSAGE(
      sh("cmake --install '" GANGLION_BUILD_DIR_FOR_TESTS "' --prefix '" + prefix + "'", log) == 0,
      test::read_file(log));
  REQUIRE_MESSAGE(
      sh("cmake -S '" + source + "' -B '" + build +
             "' -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH='" + prefix + "'" + launcher,
         log) == 0,
      test::read_file(log));
  REQUIRE_MESSAGE(sh("cmake --build '" + build + "'", log) == 0, test::read_file(log));
  REQUIRE_MESSAGE(sh("ctest --test-dir '" + build + "'", log) == 0, test::read_file(log));
  CHECK(test::read_file(log).find("100% tests passed") != std::string::npos);

  // The installed executable finds its own built-in plugins, and the template's by --plugin-path.
  const std::string ganglion = prefix + "/bin/ganglion";
  REQUIRE(sh("'" + ganglion + "' plugins --json --plugin-path '" + build + "'", log) == 0);
  const auto listed = nlohmann::json::parse(test::read_file(log));
  std::map<std::string, std::string> files;
  for (const auto& t : listed["types"]) files[t["type"]] = t["file"];
  REQUIRE(files.count("template/linear-generator") == 1);
  CHECK(files["template/linear-generator"] == build + "/libganglion-template.so");
  CHECK(files["nets/dcgan-discriminator"] == prefix + "/lib/ganglion/plugins/libganglion-nets.so");
  CHECK(listed["skipped"].empty());

  REQUIRE(sh("'" + ganglion + "' inspect template/negated-mean --plugin-path '" + build + "'", log) == 0);
  CHECK(test::read_file(log).find("weight  float = 1.0  range 0.0..1000.0") != std::string::npos);

  const std::string run = root + "/run";
  REQUIRE_MESSAGE(sh("'" + ganglion + "' run '" + source + "/graph.json' --plugin-path '" + build +
                         "' --out '" + run + "' --steps 3 --threads 1 --device cpu",
                     log) == 0,
                  test::read_file(log));
  const auto lines = test::read_log(run);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["step"] == 3);
  CHECK(lines[0]["losses"].contains("G"));
}
