// Sampling: grids, large draws for metrics, and functions applied to a draw, on the EMA shadows
// (or the trained weights), in eval mode, from the sampling streams.
#include "ganglion/engine/executor.h"

#include <algorithm>

#include <ganglion/plugin.h>
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/prefetcher.h"
#include "run/executor_parts.h"

namespace ganglion {

std::shared_ptr<NetModule>& Executor::sampling_module(int m) {
  return sample_with_ema_ && ema_[m] ? ema_[m] : modules_[m];
}

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
  if (n.kind() != NodeKind::Function || !functions_[node])
    throw std::logic_error(n.name + " is not a function node");
  torch::NoGradGuard no_grad;
  context_->begin_sampling();
  TensorMap out;
  try {
    const Context::Computing computing(*context_, node);
    out = functions_[node]->forward(inputs, *context_);
  } catch (const std::exception& e) {
    context_->end_sampling();
    throw NodeFailure(describe(n) + " failed: " + message_of(e), n.pointer);
  }
  context_->end_sampling();
  check_outputs(node, out);
  return out;
}

std::vector<torch::Tensor> Executor::sample_draw(const std::vector<PortRef>& refs, std::uint64_t draw) {
  std::vector<char> needed(graph_.nodes.size(), 0);
  for (const auto& ref : refs) needed[ref.node] = 1;
  for (auto it = plan_.order.rbegin(); it != plan_.order.rend(); ++it)
    if (needed[*it])
      for (const auto& [port, r] : graph_.nodes[*it].inputs) needed[r.node] = 1;
  for (size_t m = 0; m < modules_.size(); ++m) sampling_module(static_cast<int>(m))->eval();
  context_->begin_sampling(draw);
  std::vector<torch::Tensor> out;
  try {
    torch::NoGradGuard no_grad;
    std::map<int, Value> cache;
    for (int v : plan_.order)
      if (needed[v]) compute(v, *context_, cache, true);
    for (const auto& ref : refs) out.push_back(cache.at(ref.node).outputs.at(ref.port));
  } catch (...) {
    end_sampling();
    throw;
  }
  end_sampling();
  return out;
}

void Executor::end_sampling() {
  context_->end_sampling();
  for (size_t m = 0; m < modules_.size(); ++m) sampling_module(static_cast<int>(m))->train();
}

}  // namespace ganglion
