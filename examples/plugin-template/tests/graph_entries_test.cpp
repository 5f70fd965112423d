// The plugin's nodes as a graph uses them: made by the engine's node runner from their graph
// entries, loaded from the built plugin, with the contract checked on every call. What
// nodes_test.cpp cannot see: a param the contract refuses, an input of the wrong shape, an output
// the contract does not promise.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <ganglion/node_runner.h>

namespace {

ganglion::NodeRunner::Options this_plugin() {
  ganglion::NodeRunner::Options options;
  options.plugins = {TEMPLATE_PLUGIN_FILE};
  return options;
}

}  // namespace

TEST_CASE("TemplateEntries.GeneratorRunsFromItsGraphEntry") {
  ganglion::NodeRunner g(R"({"type": "template/linear-generator", "params": {"z_dim": 16, "resolution": 8}})",
                         this_plugin());
  g.input("z", torch::randn({4, 16}));
  const auto image = g.run().at("image");
  CHECK(image.sizes() == torch::IntArrayRef({4, 1, 8, 8}));
  CHECK(g.module().parameters().size() == 2);  // the linear layer's weight and bias
}

TEST_CASE("TemplateEntries.TheContractRefusesWhatAGraphCouldGetWrong") {
  // A param outside its range, as `ganglion validate` would say it.
  CHECK_THROWS_WITH_AS(
      ganglion::NodeRunner(R"({"type": "template/negated-mean", "params": {"weight": -1}})", this_plugin()),
      doctest::Contains("/params/weight"), ganglion::NodeRunnerError);
  // Scores of the wrong rank: the contract says "B".
  ganglion::NodeRunner loss(R"({"type": "template/negated-mean"})", this_plugin());
  loss.input("score", torch::zeros({4, 1}));
  CHECK_THROWS_WITH_AS(loss.run(), doctest::Contains("input \"score\" has 2 dimensions"),
                       ganglion::NodeRunnerError);
  loss.input("score", torch::full({4}, 0.5));
  CHECK(loss.run().at("loss").item<double>() == doctest::Approx(-0.5));
}
