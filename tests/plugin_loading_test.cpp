// Plugins that cannot be used are skipped with the reason; duplicates are an error naming both.
#include <doctest/doctest.h>

#include <ganglion/abi.h>

#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "test_support.h"

using namespace ganglion;

namespace {

std::string test_plugin(const std::string& name) {
  return std::string(GANGLION_TEST_PLUGIN_DIR) + "/" + name;
}

std::string skip_reason(const PluginRegistry& r, const std::string& file_part) {
  for (const auto& s : r.skipped())
    if (s.file.find(file_part) != std::string::npos) return s.reason;
  return "";
}

}  // namespace

TEST_CASE("Plugins.BrokenLibrariesAreSkippedWithTheReason") {
  PluginRegistry r;
  r.load({test_plugin("wrong-abi"), test_plugin("wrong-torch"), test_plugin("missing-symbol"),
          test_plugin("not-a-plugin"), test_plugin("test-nodes")});
  CHECK(skip_reason(r, "libwrong-abi.so")
            .find("built against Ganglion SDK ABI 999, but this engine has ABI " +
                  std::to_string(GANGLION_SDK_ABI)) != std::string::npos);
  CHECK(skip_reason(r, "libwrong-torch.so")
            .find("built against LibTorch 0.4.1, but this engine uses LibTorch " TORCH_VERSION) !=
        std::string::npos);
  const std::string missing = skip_reason(r, "libmissing-symbol.so");
  CHECK_MESSAGE(missing.find("cannot be loaded") != std::string::npos, missing);
  CHECK_MESSAGE(missing.find("ganglion_test_symbol_nobody_defines") != std::string::npos, missing);
  CHECK(skip_reason(r, "libnot-a-plugin.so").find("not a Ganglion plugin") != std::string::npos);
  // The good plugin beside them still loads.
  CHECK(r.skipped().size() == 4);
  REQUIRE(r.find("test/grad-penalty") != nullptr);
  CHECK(r.find("test/grad-penalty")->file.find("libtest-nodes.so") != std::string::npos);
}

TEST_CASE("Plugins.ATypeWhoseRolesNamePortsItLacksIsSkippedWithTheReason") {
  PluginRegistry r;
  r.load({test_plugin("bad-contract")});
  CHECK(r.find("bad/plain") != nullptr);
  CHECK(r.find("bad/split") == nullptr);
  const std::string why = skip_reason(r, "libbad-contract.so");
  CHECK_MESSAGE(
      why.find("its type \"bad/split\" is skipped: its style_split(\"z\", \"w\", \"w_avg\") needs an "
               "output \"w\" of shape B,L,D") != std::string::npos,
      why);
}

TEST_CASE("Plugins.TwoPluginsDefiningOneTypeIsAnErrorNamingBoth") {
  PluginRegistry r;
  try {
    r.load({test_plugin("test-nodes"), test_plugin("duplicate")});
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    const std::string what = e.what();
    CHECK(what.find("node type \"test/dup\" is defined by two plugins") != std::string::npos);
    CHECK(what.find("libtest-nodes.so") != std::string::npos);
    CHECK(what.find("libduplicate.so") != std::string::npos);
  }
}

TEST_CASE("Plugins.SkippedPluginsAreReportedByTheCli") {
  const auto result = test::run_cli({"plugins", "--plugin-path", test_plugin("wrong-abi")});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("skipped " + test_plugin("wrong-abi") +
                        "/libwrong-abi.so: built against Ganglion SDK ABI 999") != std::string::npos);
}

TEST_CASE("Plugins.ObjectsKeepTheirLibraryAlive") {
  std::shared_ptr<Function> fn;
  {
    PluginRegistry r;
    r.load({test_plugin("test-nodes")});
    NodeSetup setup;
    fn = make_function(*r.find("test/dup"), setup);
  }
  // The registry is gone; the library must still be loaded, or this call jumps into unmapped code.
  test::TestContext ctx;
  const auto out = fn->forward({}, ctx);
  CHECK(out.at("y").item<float>() == 0.0f);
}
