// The SDK's node runner: one node from its JSON entry, checked and called as in a graph.
#include <ganglion/node_runner.h>

#include <doctest/doctest.h>

#include <filesystem>

#include "test_support.h"

using namespace ganglion;

namespace {

NodeRunner::Options with_test_nodes() {
  NodeRunner::Options o;
  o.plugins = {std::string(GANGLION_TEST_PLUGIN_DIR) + "/test-nodes"};
  return o;
}

/// The message of the NodeRunnerError `f` throws ("" when it throws none).
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const NodeRunnerError& e) {
    return e.what();
  }
  return "";
}

using test::contains;

}  // namespace

TEST_CASE("NodeRunner.RunsAModuleFromItsEntryWithTheParamsChecked") {
  NodeRunner runner(R"({"type": "nets/dcgan-generator", "params": {"z_dim": 8, "width": 4}})");
  CHECK(runner.params().integer("z_dim") == 8);
  CHECK(runner.params().integer("resolution") == 28);  // the default filled in
  runner.input("z", torch::randn({3, 8}));
  const auto out = runner.run();
  CHECK(out.at("image").sizes() == torch::IntArrayRef({3, 1, 28, 28}));
  // The module itself, for its parameters and gradients.
  out.at("image").mean().backward();
  bool any_grad = false;
  for (const auto& p : runner.module().parameters()) any_grad |= p.grad().defined();
  CHECK(any_grad);
}

TEST_CASE("NodeRunner.RefusesAnEntryAsTheLoaderDoes") {
  const auto bad_param =
      refusal([] { NodeRunner(R"({"type": "nets/dcgan-generator", "params": {"z_dimm": 8}})"); });
  CHECK(contains(bad_param, "/params/z_dimm"));
  CHECK(contains(bad_param, "did you mean \"z_dim\""));
  const auto range =
      refusal([] { NodeRunner(R"({"type": "nets/dcgan-generator", "params": {"z_dim": 0}})"); });
  CHECK(contains(range, "outside its range"));
  CHECK(contains(refusal([] { NodeRunner(R"({"type": "nets/dcgan-generatr"})"); }), "unknown node type"));
  CHECK(contains(refusal([] { NodeRunner(R"({"type": "nets/dcgan-generator", "paramz": {}})"); }),
                 "unknown field \"paramz\""));
  CHECK(contains(refusal([] { NodeRunner("{\"type\": "); }), "not valid JSON"));
  NodeRunner::Options missing;
  missing.plugins = {"/no/such/plugin.so"};
  CHECK(contains(refusal([&] { NodeRunner(R"({"type": "losses/bce"})", missing); }), "/no/such/plugin.so"));
}

TEST_CASE("NodeRunner.HoldsPortsToTheContract") {
  NodeRunner concat(R"({"type": "test/concat"})", with_test_nodes());
  CHECK(contains(refusal([&] { concat.input("part.a", torch::zeros({2, 2})); }), "has no input \"part.a\""));
  concat.input("parts.a", torch::zeros({4, 2}));
  // A group needs its fewest members before the node is made.
  CHECK(contains(refusal([&] { concat.run(); }), "at least 2 members"));
  concat.input("parts.b", torch::zeros({3, 2}));
  CHECK(contains(refusal([&] { concat.run(); }),
                 "dimension B is 4 in input \"parts.a\" but 3 in input \"parts.b\""));
  concat.input("parts.b", torch::ones({4, 2}));
  const auto y = concat.run().at("y");
  CHECK(y.sizes() == torch::IntArrayRef({4, 4}));  // the node was told both members when made
  CHECK(y.sum().item<double>() == 8.0);
  CHECK(contains(refusal([&] { concat.input("parts.c", torch::zeros({4, 1})); }), "feed every input before"));

  NodeRunner square(R"({"type": "test/square"})", with_test_nodes());
  CHECK(contains(refusal([&] { square.run(); }), "required input \"x\""));
  CHECK(contains(refusal([&] { square.source(); }), "is a function, not a source"));
}

TEST_CASE("NodeRunner.ChecksASourcesOutputsAndRepeatsItsDraws") {
  const auto draw = [](std::uint64_t seed) {
    NodeRunner::Options o = with_test_nodes();
    o.seed = seed;
    NodeRunner tokens(R"({"type": "test/tokens", "params": {"length": 6}})", o);
    return tokens.run();
  };
  const auto a = draw(1), b = draw(1), c = draw(2);
  CHECK(a.at("tokens").sizes() == torch::IntArrayRef({4, 6}));
  CHECK(torch::equal(a.at("tokens"), b.at("tokens")));
  CHECK_FALSE(torch::equal(a.at("tokens"), c.at("tokens")));
  NodeRunner broken(R"({"type": "test/tokens", "params": {"mask_length": 3}})", with_test_nodes());
  CHECK(contains(refusal([&] { broken.run(); }),
                 "dimension T is 5 in output \"tokens\" but 3 in output \"mask\""));
}

TEST_CASE("NodeRunner.GivesTheRunContextATestSets") {
  NodeRunner mlp(R"({"type": "test/growing-mlp", "params": {"scale": "fade"}})", with_test_nodes());
  mlp.input("x", torch::ones({2, 2}));
  // The schedule a graph would declare, unknown until the test sets it.
  CHECK(contains(refusal([&] { mlp.run(); }), "no schedule \"fade\""));
  mlp.schedule("fade", 1.0);
  const auto one = mlp.run().at("y");
  mlp.schedule("fade", 0.5);
  CHECK(torch::allclose(mlp.run().at("y"), one * 0.5));
  mlp.module().grow(1);  // the module as the engine would grow it
  CHECK(mlp.module().parameters().size() == 4);
}

TEST_CASE("NodeRunner.WritesThroughAWriterWithItsExtension") {
  const std::string dir = test::temp_dir("node-runner");
  NodeRunner csv(R"({"type": "test/csv"})", with_test_nodes());
  CHECK(contains(refusal([&] { csv.run(); }), "is a writer"));
  csv.input("value", torch::zeros({5}));
  CHECK(
      contains(refusal([&] { csv.write(dir + "/bad"); }), "has 1 dimensions but its contract says \"N,F\""));
  csv.input("value", torch::ones({2, 3}));
  const std::string path = csv.write(dir + "/rows");
  CHECK(path == dir + "/rows.csv");
  CHECK(std::filesystem::exists(path));
  CHECK(contains(test::read_file(path), "1"));
}
