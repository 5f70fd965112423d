// The upsampler family and the Layer params that choose one: every upsampler maps the shapes it is
// given and trains, a graph swaps the generator's upsampler without C++, and a wrong choice is an
// error at its JSON path.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"
#include "test_support.h"

using namespace ganglion;

namespace {

const std::vector<std::string> kUpsamplers{"upsamplers/transposed-conv", "upsamplers/nearest-conv",
                                           "upsamplers/bilinear-conv", "upsamplers/pixel-shuffle"};

torch::nn::AnyModule make_upsampler(const std::string& type, const LayerArgs& args,
                                    const std::map<std::string, ParamValue>& params = {}) {
  const RegisteredType& t = test::registered(type);
  REQUIRE(t.contract.kind() == NodeKind::Layer);
  CHECK(t.contract.layer_family() == "upsampler");
  return t.type->make_layer(test::node_setup(type, params), args);
}

std::string load_error(const nlohmann::json& document) {
  try {
    build_graph(document, "up.json", test::builtin_registry());
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Upsamplers.MapTheShapesTheyAreGivenAndTrain") {
  torch::manual_seed(4);
  for (const auto& type : kUpsamplers)
    for (std::int64_t out_size : {14, 13}) {
      CAPTURE(type);
      CAPTURE(out_size);
      auto up = make_upsampler(type, LayerArgs{6, 5, 7, out_size});
      const auto x = torch::randn({2, 6, 7, 7});
      const auto y = up.forward(x);
      CHECK(y.sizes() == torch::IntArrayRef({2, 5, out_size, out_size}));
      y.pow(2).sum().backward();
      auto params = up.ptr()->parameters();
      REQUIRE(!params.empty());
      for (auto& p : params) {
        REQUIRE(p.grad().defined());
        CHECK(p.grad().abs().sum().item<double>() > 0);
      }
    }
  CHECK_THROWS_WITH_AS(make_upsampler("upsamplers/nearest-conv", LayerArgs{6, 5, 7, 21}),
                       doctest::Contains("doubles the size"), std::exception);
}

TEST_CASE("Upsamplers.PixelShuffleStartsWithoutCheckerboard") {
  // ICNR: each output pixel's 2x2 block starts equal, as nearest-neighbour upsampling would give.
  torch::manual_seed(5);
  auto up = make_upsampler("upsamplers/pixel-shuffle", LayerArgs{3, 2, 4, 8});
  const auto y = up.forward(torch::randn({1, 3, 4, 4}));
  const auto blocks = y.unfold(2, 2, 2).unfold(3, 2, 2);  // 1 x 2 x 4 x 4 x 2 x 2
  CHECK(torch::allclose(blocks.select(-1, 0), blocks.select(-1, 1)));
  CHECK(torch::allclose(blocks.select(-2, 0), blocks.select(-2, 1)));
  auto plain = make_upsampler("upsamplers/pixel-shuffle", LayerArgs{3, 2, 4, 8}, {{"icnr", false}});
  const auto z = plain.forward(torch::randn({1, 3, 4, 4})).unfold(2, 2, 2).unfold(3, 2, 2);
  CHECK(!torch::allclose(z.select(-1, 0), z.select(-1, 1)));
}

TEST_CASE("Upsamplers.AGraphSwapsTheGeneratorsUpsampler") {
  REQUIRE(test::mnist_available());
  std::map<std::string, std::string> first_layer_param;
  for (const auto& type : kUpsamplers) {
    CAPTURE(type);
    auto document = test::small_dcgan_graph(64, 16);
    if (type == "upsamplers/pixel-shuffle")  // the object form, with a param of the layer's own
      document["modules"]["G"]["params"]["upsampler"] = {{"type", type}, {"params", {{"icnr", false}}}};
    else
      document["modules"]["G"]["params"]["upsampler"] = type;
    const Graph graph = build_graph(document, "up.json", test::builtin_registry());
    const Plan plan = make_plan(graph);
    Executor executor(graph, plan, torch::kCPU);
    const auto record = executor.run_iteration(1);
    for (const auto& [phase, loss] : record.losses()) CHECK(std::isfinite(loss));
    // The second layer of G (after z -> 4x4 and its BatchNorm and ReLU) is the upsampler.
    std::string names;
    for (const auto& p : executor.modules()[graph.find_module("G")]->named_parameters())
      if (p.key().rfind("body.3.", 0) == 0) names += p.key() + " ";
    first_layer_param[type] = names;
  }
  // DCGAN's own upsampler keeps the parameter names checkpoints already use.
  CHECK(first_layer_param["upsamplers/transposed-conv"] == "body.3.weight ");
  CHECK(first_layer_param["upsamplers/nearest-conv"] == "body.3.conv.weight ");
  CHECK(first_layer_param["upsamplers/pixel-shuffle"] == "body.3.conv.weight ");
}

TEST_CASE("Upsamplers.WrongChoicesAreNamedAtTheirPath") {
  auto document = test::small_dcgan_graph(64, 16);
  auto& up = document["modules"]["G"]["params"]["upsampler"];
  up = "upsamplers/nearest-cnv";
  const std::string typo = load_error(document);
  CHECK(typo.find(
            "/modules/G/params/upsampler: \"upsamplers/nearest-cnv\" is not a layer of family upsampler") !=
        std::string::npos);
  CHECK(typo.find("did you mean \"upsamplers/nearest-conv\"") != std::string::npos);
  up = "nets/dcgan-generator";
  CHECK(load_error(document).find("is not a layer of family upsampler") != std::string::npos);
  up = {{"type", "upsamplers/bilinear-conv"}, {"params", {{"bais", true}}}};
  CHECK(load_error(document).find(
            "/modules/G/params/upsampler/params/bais: upsamplers/bilinear-conv has no param "
            "\"bais\" (did you mean \"bias\"?)") != std::string::npos);
  up = {{"params", {}}};
  CHECK(load_error(document).find("missing \"type\"") != std::string::npos);
  up = 3;
  CHECK(load_error(document).find("expects a layer type of family upsampler") != std::string::npos);

  auto as_node = test::small_dcgan_graph(64, 16);
  as_node["nodes"]["up"] = {{"type", "upsamplers/nearest-conv"}};
  CHECK(load_error(as_node).find("is a layer (family upsampler)") != std::string::npos);
}
