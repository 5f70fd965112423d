// The engine's Adam must be torch's Adam: same parameters after many steps (with weight decay,
// learning-rate changes, per-group options, a parameter that misses gradients, layouts and dtypes
// off the one-pass kernel's path), and a state torch's own Adam can resume from, and back.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sstream>

#include "ganglion/engine/fused_adam.h"

namespace {

using torch::optim::AdamOptions;
using torch::optim::OptimizerParamGroup;

// Two identical sets of parameters: one for each optimiser.
struct Params {
  std::vector<torch::Tensor> group_a, group_b;
  std::vector<torch::Tensor> all() const {
    auto v = group_a;
    v.insert(v.end(), group_b.begin(), group_b.end());
    return v;
  }
};

Params make_params(std::uint64_t seed) {
  torch::manual_seed(seed);
  Params p;
  p.group_a = {torch::randn({100000}),  // several parallel chunks
               torch::randn({64, 3, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast), torch::randn({1})};
  p.group_b = {torch::randn({7, 5}), torch::randn({13}, torch::kDouble)};
  for (auto& t : p.all()) t.set_requires_grad(true);
  return p;
}

Params copy_of(const Params& src) {
  Params p;
  for (auto& t : src.group_a) p.group_a.push_back(t.detach().clone().set_requires_grad(true));
  for (auto& t : src.group_b) p.group_b.push_back(t.detach().clone().set_requires_grad(true));
  return p;
}

template <typename Opt>
std::unique_ptr<Opt> make(const Params& p, double weight_decay) {
  std::vector<OptimizerParamGroup> groups;
  groups.emplace_back(p.group_a, std::make_unique<AdamOptions>(AdamOptions(1e-2).betas({0.5, 0.9})));
  groups.emplace_back(p.group_b,
                      std::make_unique<AdamOptions>(
                          AdamOptions(3e-3).betas({0.0, 0.99}).eps(1e-6).weight_decay(weight_decay)));
  return std::make_unique<Opt>(groups, AdamOptions(1e-3));
}

// Deterministic gradients from the step number; the scalar parameter gets one every other step,
// so its step count (and bias correction) differs from the others'.
void set_grads(const Params& p, int step) {
  torch::manual_seed(1000 + step);
  auto all = p.all();
  for (size_t i = 0; i < all.size(); ++i) {
    auto g = torch::randn(all[i].sizes(), all[i].options().requires_grad(false)) * (0.1 * (i + 1));
    all[i].mutable_grad() = (i == 2 && step % 2 == 1) ? torch::Tensor() : g;
  }
}

double max_difference(const Params& a, const Params& b) {
  double worst = 0;
  auto x = a.all(), y = b.all();
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, ((x[i] - y[i]).abs().max() / y[i].abs().max()).item<double>());
  return worst;
}

}  // namespace

TEST_CASE("FusedAdam.MatchesTorchAdamOverManySteps") {
  for (double weight_decay : {0.0, 0.05}) {
    CAPTURE(weight_decay);
    Params ours = make_params(3), theirs = copy_of(ours);
    auto fused = make<ganglion::FusedAdam>(ours, weight_decay);
    auto reference = make<torch::optim::Adam>(theirs, weight_decay);
    for (int step = 0; step < 30; ++step) {
      if (step == 10)  // a schedule changes the learning rate through the group's options
        for (auto* opt : {static_cast<torch::optim::Optimizer*>(fused.get()),
                          static_cast<torch::optim::Optimizer*>(reference.get())})
          opt->param_groups()[0].options().set_lr(2e-3);
      set_grads(ours, step);
      set_grads(theirs, step);
      fused->step();
      reference->step();
    }
    // The parameters moved (so the comparison means something) and moved alike.
    CHECK(((ours.group_a[0] - make_params(3).group_a[0]).abs().max().item<double>()) > 1e-2);
    MESSAGE("largest relative difference " << max_difference(ours, theirs));
    CHECK(max_difference(ours, theirs) < 1e-6);
    const auto& state = static_cast<torch::optim::AdamParamState&>(*fused->state().begin()->second);
    CHECK(state.exp_avg_sq().defined());
  }
}

TEST_CASE("FusedAdam.StateRoundTripsWithTorchAdam") {
  Params ours = make_params(5), theirs = copy_of(ours);
  auto fused = make<ganglion::FusedAdam>(ours, 0.0);
  auto reference = make<torch::optim::Adam>(theirs, 0.0);
  for (int step = 0; step < 5; ++step) {
    set_grads(ours, step);
    set_grads(theirs, step);
    fused->step();
    reference->step();
  }
  // Each resumes from the other's checkpoint; the next steps still agree.
  std::stringstream from_fused, from_reference;
  {
    torch::serialize::OutputArchive a, b;
    fused->save(a);
    reference->save(b);
    a.save_to(from_fused);
    b.save_to(from_reference);
  }
  Params ours2 = copy_of(ours), theirs2 = copy_of(theirs);
  auto fused2 = make<ganglion::FusedAdam>(ours2, 0.0);
  auto reference2 = make<torch::optim::Adam>(theirs2, 0.0);
  {
    torch::serialize::InputArchive a, b;
    a.load_from(from_reference);
    b.load_from(from_fused);
    fused2->load(a);
    reference2->load(b);
  }
  for (int step = 5; step < 10; ++step) {
    set_grads(ours2, step);
    set_grads(theirs2, step);
    fused2->step();
    reference2->step();
  }
  CHECK(max_difference(ours2, theirs2) < 1e-6);
  // Without the loaded moments the first step would be a full-size one: it differs.
  Params fresh = copy_of(ours);
  auto fresh_opt = make<ganglion::FusedAdam>(fresh, 0.0);
  set_grads(fresh, 5);
  fresh_opt->step();
  Params resumed = copy_of(ours);
  auto resumed_opt = make<ganglion::FusedAdam>(resumed, 0.0);
  {
    torch::serialize::InputArchive a;
    std::stringstream again(from_fused.str());
    a.load_from(again);
    resumed_opt->load(a);
  }
  set_grads(resumed, 5);
  resumed_opt->step();
  CHECK(max_difference(fresh, resumed) > 1e-3);
}

TEST_CASE("FusedAdam.Float64IsUpdatedInDouble") {
  // Coefficients rounded to float would leave about 1e-8 relative error per step.
  torch::manual_seed(7);
  auto a = torch::randn({50}, torch::kDouble).set_requires_grad(true);
  auto b = a.detach().clone().set_requires_grad(true);
  ganglion::FusedAdam fused({a}, AdamOptions(1e-2).betas({0.5, 0.9}).weight_decay(0.01));
  torch::optim::Adam reference({b}, AdamOptions(1e-2).betas({0.5, 0.9}).weight_decay(0.01));
  for (int step = 0; step < 20; ++step) {
    auto g = torch::randn({50}, torch::kDouble);
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    fused.step();
    reference.step();
  }
  CHECK(((a - b).abs().max() / b.abs().max()).item<double>() < 1e-13);
}

TEST_CASE("FusedAdam.UpdatesCountAsInPlaceChanges") {
  // A graph that saved a parameter must refuse to backpropagate after the parameter is updated,
  // as it does with torch's Adam: the update bumps the parameter's version.
  for (auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
    auto w = torch::randn({2, 3, 4, 4}).contiguous(format).set_requires_grad(true);
    ganglion::FusedAdam adam({w}, AdamOptions(1e-2));
    auto saved = (w * w).sum();  // mul saves w
    w.mutable_grad() = torch::ones_like(w);
    const auto before = w._version();
    adam.step();
    CHECK(w._version() > before);
    CHECK_THROWS_WITH_AS(saved.backward(), doctest::Contains("modified by an inplace operation"), c10::Error);
  }
}
