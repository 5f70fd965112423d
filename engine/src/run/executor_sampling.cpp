// Sampling: grids, large draws for metrics, and functions applied to a draw, on the EMA shadows
// (or the trained weights), in eval mode, from the sampling streams, with data from copies of the
// sources so that training's position is untouched.
#include <algorithm>

#include <ganglion/plugin.h>
#include "ganglion/engine/plugin_registry.h"
#include "run/executor_parts.h"

namespace ganglion {

using run_parts::Context;
using run_parts::Value;

namespace run_parts {

TensorMap Sampler::batch(int node, Context& ctx) {
  const NodeEntry& n = built_.graph.nodes[node];
  if (sources_.empty()) {
    sources_.resize(built_.graph.nodes.size());
    first_batches_.resize(built_.graph.nodes.size());
  }
  // Sample grids use the data set's first batch; draw k of an evaluation its k-th batch, so a
  // large draw covers as much of the data set as it asks for.
  if (ctx.draw_ == 0) {
    if (first_batches_[node].empty()) {
      auto copy = built_.copy_source(node);
      first_batches_[node] = copy->next({}, ctx);
    }
    return first_batches_[node];
  }
  if (ctx.draw_ == 1 || !sources_[node]) sources_[node] = built_.copy_source(node);
  return sources_[node]->next({}, ctx);
}

void Sampler::set_eval(bool eval) {
  for (size_t m = 0; m < built_.modules.size(); ++m) module(static_cast<int>(m))->train(!eval);
}

}  // namespace run_parts

torch::Tensor Executor::sample(const PortRef& ref) { return sample_draw({ref}, 0).front(); }

std::vector<torch::Tensor> Executor::sample(const std::vector<PortRef>& refs) { return sample_draw(refs, 0); }

torch::Tensor Executor::draw(const PortRef& ref, std::int64_t count) {
  return draw(std::vector<PortRef>{ref}, count).front();
}

std::vector<torch::Tensor> Executor::draw(const std::vector<PortRef>& refs, std::int64_t count) {
  std::vector<std::vector<torch::Tensor>> parts(refs.size());
  std::vector<std::int64_t> have(refs.size(), 0);
  const auto short_of = [&] {
    return std::any_of(have.begin(), have.end(), [&](auto h) { return h < count; });
  };
  for (std::uint64_t k = 1; short_of(); ++k) {
    std::vector<torch::Tensor> batch = sample_draw(refs, k);
    for (size_t r = 0; r < refs.size(); ++r) {
      torch::Tensor& part = batch[r];
      if (part.dim() == 0 || part.size(0) == 0)
        throw NodeFailure("\"" + graph_.port_name(refs[r]) + "\" gives no rows to draw from (its shape is " +
                          c10::str(part.sizes()) + ")");
      have[r] += part.size(0);
      parts[r].push_back(std::move(part));
    }
  }
  std::vector<torch::Tensor> out;
  for (auto& p : parts) out.push_back(torch::cat(p).narrow(0, 0, count));
  return out;
}

TensorMap Executor::apply_function(int node, const TensorMap& inputs) {
  const NodeEntry& n = graph_.nodes.at(node);
  if (n.kind() != NodeKind::Function || !built_->functions[node])
    throw std::logic_error(n.name + " is not a function node");
  torch::NoGradGuard no_grad;
  Context& ctx = state_->context;
  ctx.begin_sampling();
  TensorMap out;
  try {
    const Context::Computing computing(ctx, node);
    out = built_->functions[node]->forward(inputs, ctx);
  } catch (const std::exception& e) {
    ctx.end_sampling();
    throw NodeFailure(describe(n) + " failed: " + message_of(e), n.pointer);
  }
  ctx.end_sampling();
  // The outputs only: a draw's inputs are not one batch, so their sizes need not agree as a
  // batch's would.
  run_parts::PortCheck::Sizes sizes;
  built_->ports[node].outputs(out, sizes);
  return out;
}

TensorMap Executor::apply_module(int node, const TensorMap& inputs) {
  const NodeEntry& n = graph_.nodes.at(node);
  if (n.module < 0) throw std::logic_error(n.name + " does not apply a module");
  torch::NoGradGuard no_grad;
  Context& ctx = state_->context;
  NetModule& net = *sampler_->module(n.module);
  const bool was_training = net.is_training();
  net.train(false);
  ctx.begin_sampling();
  TensorMap out;
  try {
    const Context::Computing computing(ctx, node);
    out = net.forward(inputs, ctx);
    run_parts::PortCheck::Sizes sizes;
    built_->ports[node].outputs(out, sizes);
  } catch (const std::exception& e) {
    ctx.end_sampling();
    net.train(was_training);
    throw NodeFailure(describe(n) + " failed: " + message_of(e), n.pointer);
  }
  ctx.end_sampling();
  net.train(was_training);
  return out;
}

NetModule& Executor::sampling_module(int module) { return *sampler_->module(module); }

std::vector<torch::Tensor> Executor::sample_step(
    const std::vector<PortRef>& refs, std::uint64_t draw,
    const std::vector<std::pair<PortRef, torch::Tensor>>& overrides) {
  return sample_draw(refs, draw, overrides);
}

std::vector<torch::Tensor> Executor::sample_draw(
    const std::vector<PortRef>& refs, std::uint64_t draw,
    const std::vector<std::pair<PortRef, torch::Tensor>>& overrides) {
  std::vector<char> needed(graph_.nodes.size(), 0);
  for (const auto& ref : refs) needed[ref.node] = 1;
  for (auto it = plan_.order.rbegin(); it != plan_.order.rend(); ++it)
    if (needed[*it])
      for (const auto& [port, r] : graph_.nodes[*it].inputs) needed[r.node] = 1;
  Context& ctx = state_->context;
  const auto end_sampling = [&] {
    ctx.end_sampling();
    sampler_->set_eval(false);
  };
  sampler_->set_eval(true);
  ctx.begin_sampling(draw);
  std::vector<torch::Tensor> out;
  try {
    torch::NoGradGuard no_grad;
    std::map<int, Value> values;
    for (int v : plan_.order) {
      if (!needed[v]) continue;
      run_parts::compute(*built_, *state_, v, values, sampler_.get(), observer_);
      for (const auto& [ref, tensor] : overrides) {
        if (ref.node != v) continue;
        torch::Tensor& computed = values.at(v).outputs.at(ref.port);
        if (computed.sizes() != tensor.sizes())
          throw NodeFailure("\"" + graph_.port_name(ref) + "\" is " + c10::str(computed.sizes()) +
                                ", so it cannot hold a value of shape " + c10::str(tensor.sizes()) +
                                " in its place",
                            graph_.nodes[v].pointer);
        computed = tensor.to(computed.device(), computed.scalar_type());
      }
    }
    for (const auto& ref : refs) out.push_back(values.at(ref.node).outputs.at(ref.port));
  } catch (...) {
    end_sampling();
    throw;
  }
  end_sampling();
  return out;
}

}  // namespace ganglion
