// Conditioning: class labels and continuous attributes reach the DCGAN generator and
// discriminator (embedding, projection, concat), the class-label source and the cross-entropy loss.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;

namespace {

std::shared_ptr<NetModule> net(const std::string& type, const std::map<std::string, ParamValue>& params) {
  return make_module(test::registered(type), test::node_setup(type, params));
}

std::shared_ptr<Source> source(const std::string& type, const std::map<std::string, ParamValue>& params) {
  return make_source(test::registered(type), test::node_setup(type, params));
}

std::shared_ptr<Function> function(const std::string& type,
                                   const std::map<std::string, ParamValue>& params = {}) {
  return make_function(test::registered(type), test::node_setup(type, params));
}

std::string message_of_forward(NetModule& m, const TensorMap& in) {
  try {
    m.forward(in);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

const std::map<std::string, ParamValue> kSmallG{{"z_dim", std::int64_t{8}}, {"width", std::int64_t{4}}};
const std::map<std::string, ParamValue> kSmallD{{"width", std::int64_t{4}}, {"sigmoid", false}};

std::map<std::string, ParamValue> with(std::map<std::string, ParamValue> p, const std::string& k,
                                       ParamValue v) {
  p[k] = std::move(v);
  return p;
}

}  // namespace

TEST_CASE("Conditional.GeneratorFollowsTheLabel") {
  torch::manual_seed(1);
  auto g = net("nets/dcgan-generator", with(kSmallG, "classes", std::int64_t{10}));
  g->eval();
  const auto z = torch::randn({2, 8});
  const auto a = g->forward({{"z", z}, {"label", torch::tensor({3, 3})}}).at("image");
  const auto b = g->forward({{"z", z}, {"label", torch::tensor({3, 7})}}).at("image");
  CHECK(torch::allclose(a[0], b[0]));   // same z, same class: same image
  CHECK(!torch::allclose(a[1], b[1]));  // same z, other class: another image
  CHECK(g->named_parameters().contains("class_embedding.weight"));
  // The gradient reaches the class embedding, so training learns it.
  g->train();
  g->forward({{"z", z}, {"label", torch::tensor({3, 7})}}).at("image").sum().backward();
  const auto grad = g->named_parameters()["class_embedding.weight"].grad();
  REQUIRE(grad.defined());
  CHECK(grad[3].abs().sum().item<double>() > 0);
  CHECK(grad[5].abs().sum().item<double>() == 0);  // a class not asked for gets nothing
}

TEST_CASE("Conditional.OneHotAndContinuousConditionWidenZ") {
  torch::manual_seed(2);
  auto g = net("nets/dcgan-generator",
               with(with(with(kSmallG, "classes", std::int64_t{4}), "class_embedding", std::int64_t{0}),
                    "condition_dim", std::int64_t{2}));
  CHECK(!g->named_parameters().contains("class_embedding.weight"));
  // The first layer reads z (8) + one-hot (4) + condition (2).
  CHECK(g->parameters().front().size(0) == 14);
  g->eval();
  const auto z = torch::randn({1, 8});
  const auto young =
      g->forward({{"z", z}, {"label", torch::tensor({1})}, {"condition", torch::tensor({{0.f, 0.f}})}});
  const auto old =
      g->forward({{"z", z}, {"label", torch::tensor({1})}, {"condition", torch::tensor({{1.f, 0.f}})}});
  CHECK(!torch::allclose(young.at("image"), old.at("image")));
}

TEST_CASE("Conditional.UnconditionalNetsKeepTheirParameters") {
  // Checkpoints of unconditional runs still load: no new parameters unless asked for.
  auto g = net("nets/dcgan-generator", kSmallG);
  auto d = net("nets/dcgan-discriminator", kSmallD);
  for (const auto& p : g->named_parameters()) CHECK(p.key().rfind("body.", 0) == 0);
  for (const auto& p : d->named_parameters()) CHECK(p.key().rfind("body.", 0) == 0);
}

TEST_CASE("Conditional.ProjectionDiscriminatorScoresDependOnTheLabel") {
  torch::manual_seed(3);
  auto d = net("nets/dcgan-discriminator", with(kSmallD, "classes", std::int64_t{10}));
  d->eval();
  const auto x = torch::randn({2, 1, 28, 28});
  const auto s1 = d->forward({{"image", x}, {"label", torch::tensor({0, 1})}}).at("score");
  const auto s2 = d->forward({{"image", x}, {"label", torch::tensor({0, 2})}}).at("score");
  CHECK(s1[0].item<double>() == doctest::Approx(s2[0].item<double>()));
  CHECK(s1[1].item<double>() != doctest::Approx(s2[1].item<double>()));
  // The term is an inner product with the class's embedding: moving that embedding by e moves the
  // score by <e, h>, and classes not asked for do not matter.
  auto emb = d->named_parameters()["class_projection.weight"];
  {
    torch::NoGradGuard no_grad;
    emb[5].add_(1.0);
  }
  const auto s3 = d->forward({{"image", x}, {"label", torch::tensor({0, 1})}}).at("score");
  CHECK(torch::allclose(s1, s3));
  // Gradients reach the projection.
  d->train();
  d->forward({{"image", x}, {"label", torch::tensor({0, 1})}}).at("score").sum().backward();
  REQUIRE(emb.grad().defined());
  CHECK(emb.grad()[1].abs().sum().item<double>() > 0);
}

TEST_CASE("Conditional.ConcatDiscriminatorReadsLabelChannels") {
  torch::manual_seed(4);
  auto d = net("nets/dcgan-discriminator",
               with(with(with(kSmallD, "classes", std::int64_t{10}), "conditioning", std::string("concat")),
                    "condition_dim", std::int64_t{1}));
  // The first convolution reads the image, ten one-hot maps and one attribute map.
  CHECK(d->named_parameters()["body.0.weight"].size(1) == 12);
  d->eval();
  const auto x = torch::randn({1, 1, 28, 28});
  const auto c = torch::tensor({{0.5f}});
  const auto a = d->forward({{"image", x}, {"label", torch::tensor({4})}, {"condition", c}}).at("score");
  const auto b = d->forward({{"image", x}, {"label", torch::tensor({6})}, {"condition", c}}).at("score");
  CHECK(a.item<double>() != doctest::Approx(b.item<double>()));
}

TEST_CASE("Conditional.WiringMistakesAreNamed") {
  auto g = net("nets/dcgan-generator", with(kSmallG, "classes", std::int64_t{10}));
  const auto z = torch::randn({2, 8});
  CHECK(message_of_forward(*g, {{"z", z}}).find("input label is not connected") != std::string::npos);
  CHECK(message_of_forward(*g, {{"z", z}, {"label", torch::tensor({0, 10})}}).find("outside 0..9") !=
        std::string::npos);
  CHECK(message_of_forward(*g, {{"z", z}, {"label", torch::tensor({0})}}).find("1 rows for a batch of 2") !=
        std::string::npos);
  auto plain = net("nets/dcgan-generator", kSmallG);
  CHECK(message_of_forward(*plain, {{"z", z}, {"label", torch::tensor({0, 1})}}).find("param classes is 0") !=
        std::string::npos);
  auto d = net("nets/dcgan-discriminator", kSmallD);
  CHECK(message_of_forward(*d, {{"image", torch::randn({1, 1, 28, 28})}, {"label", torch::tensor({0})}})
            .find("param classes is 0") != std::string::npos);
  auto dc = net("nets/dcgan-discriminator", with(kSmallD, "condition_dim", std::int64_t{2}));
  CHECK(
      message_of_forward(*dc, {{"image", torch::randn({1, 1, 28, 28})}, {"condition", torch::randn({1, 3})}})
          .find("condition_dim is 2") != std::string::npos);
  CHECK_THROWS_WITH_AS(net("nets/dcgan-discriminator", with(kSmallD, "conditioning", std::string("sum"))),
                       doctest::Contains("use projection or concat"), std::exception);
}

TEST_CASE("Conditional.CategoricalLabelsAreUniformOrPicked") {
  test::TestContext ctx;
  auto uniform = source("noise/categorical", {{"classes", std::int64_t{4}}, {"batch", std::int64_t{4000}}});
  const auto counts = torch::bincount(uniform->next({}, ctx).at("label"), {}, 4);
  CHECK(counts.size(0) == 4);
  CHECK(counts.min().item<int64_t>() > 900);  // each class about 1000 times
  auto picked = source("noise/categorical", {{"classes", std::int64_t{10}}, {"pick", std::string("3,7")}});
  const auto labels = picked->next({{"like", torch::zeros({5, 2})}}, ctx).at("label");
  CHECK(torch::equal(labels, torch::tensor({3, 7, 3, 7, 3})));
  CHECK_THROWS_WITH_AS(
      source("noise/categorical", {{"classes", std::int64_t{10}}, {"pick", std::string("3,x")}}),
      doctest::Contains("\"x\" is not a class in 0..9"), std::exception);
  CHECK_THROWS_WITH_AS(
      source("noise/categorical", {{"classes", std::int64_t{10}}, {"pick", std::string("10")}}),
      doctest::Contains("not a class"), std::exception);
}

TEST_CASE("Conditional.CrossEntropyMatchesItsFormula") {
  test::TestContext ctx;
  const auto logits = torch::tensor({{2.0, 0.0, -1.0}, {0.5, 0.5, 3.0}});
  const auto label = torch::tensor({0, 1});
  const auto expected = -(torch::log_softmax(logits, 1)[0][0] + torch::log_softmax(logits, 1)[1][1]) / 2;
  auto ce = function("losses/cross-entropy");
  CHECK(ce->forward({{"logits", logits}, {"label", label}}, ctx).at("loss").item<double>() ==
        doctest::Approx(expected.item<double>()));
  CHECK_THROWS_WITH_AS(ce->forward({{"logits", logits}, {"label", torch::tensor({0, 3})}}, ctx),
                       doctest::Contains("outside 0..2"), std::exception);
}
