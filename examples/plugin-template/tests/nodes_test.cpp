// Each node of the plugin on its own: shapes, values, gradients.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <ganglion/plugin.h>

#include "linear_generator.h"
#include "negated_mean_loss.h"

namespace {

ganglion::NodeSetup setup_for(const ganglion::Contract& c,
                              const std::map<std::string, ganglion::ParamValue>& p = {}) {
  ganglion::NodeSetup s;
  s.params = ganglion::defaults_of(c, p);
  return s;
}

struct NoContext : ganglion::RunContext {
  torch::Device device() const override { return torch::kCPU; }
  at::Generator& generator() override { throw std::logic_error("unused"); }
  std::int64_t step() const override { return 1; }
  bool sampling() const override { return false; }
};

}  // namespace

TEST_CASE("Template.LinearGeneratorMakesImagesOfItsParams") {
  using template_nodes::LinearGenerator;
  LinearGenerator g(
      setup_for(LinearGenerator::contract(), {{"z_dim", std::int64_t(8)}, {"resolution", std::int64_t(6)}}));
  const auto out = g.forward({{"z", torch::randn({5, 8})}});
  const auto& image = out.at("image");
  CHECK(image.sizes() == torch::IntArrayRef({5, 1, 6, 6}));
  CHECK(image.abs().max().item<float>() <= 1.0f);
}

TEST_CASE("Template.NegatedMeanLossPushesScoresUp") {
  using template_nodes::NegatedMeanLoss;
  NegatedMeanLoss loss(setup_for(NegatedMeanLoss::contract(), {{"weight", 2.0}}));
  NoContext ctx;
  auto score = torch::tensor({0.25f, 0.75f}).requires_grad_();
  const auto out = loss.forward({{"score", score}}, ctx).at("loss");
  CHECK(out.item<float>() == doctest::Approx(-1.0));
  out.backward();
  CHECK(score.grad()[0].item<float>() == doctest::Approx(-1.0));  // d(-2 * mean)/ds_i = -1
}

TEST_CASE("Template.TypesRegisterWithTheirContracts") {
  CHECK(ganglion::node_type<template_nodes::LinearGenerator>().make_module);
  CHECK(ganglion::node_type<template_nodes::NegatedMeanLoss>().make_function);
}
